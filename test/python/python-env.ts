import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";

/**
 * Debian's interpreter, named explicitly: python3-grpcio and python3-protobuf install into its
 * dist-packages, while the `python3` first on PATH may be another build (pyenv here) without them.
 */
export const python = "/usr/bin/python3";
const aptPackages = "python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc";
export const pythonDir = fileURLToPath(new URL("../../examples/python", import.meta.url));
export const apiKey = "python-key-0123456789";
const run = promisify(execFile);

/** The Python side's prerequisites; a missing one fails the suite (never a silent skip). */
function checkPrerequisites(): void {
  const missing: string[] = [];
  const probe = spawnSync(python, ["-c", "import grpc, google.protobuf"], { encoding: "utf8" });
  if (probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split("\n").at(-1);
    missing.push(`${python} cannot import grpc and google.protobuf (${why})`);
  }
  for (const tool of ["protoc", "grpc_python_plugin"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(`no ${tool}`);
  }
  if (missing.length > 0) {
    throw new Error(
      `the Python client test needs Debian's gRPC packages (apt-get install -y ${aptPackages}): ` +
        missing.join("; "),
    );
  }
}

/**
 * Fails the suite (never a silent skip) unless Debian's python3 can import `modules`, naming the
 * apt packages that provide them: for tests whose scripts need more than gRPC (PyJWT, say).
 */
export function requirePythonModules(modules: readonly string[], packages: string): void {
  const probe = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  if (probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split("\n").at(-1);
    throw new Error(
      `this test needs ${python} to import ${modules.join(", ")} (apt-get install -y ${packages}): ${why}`,
    );
  }
}

/** The Python client's stubs for one test file, and how to run its scripts. */
export interface PythonSide {
  /** Where generate.sh wrote the stubs (set once the file's beforeAll ran). */
  readonly genDir: string;
  /** The environment a script of examples/python (or test/python) runs with against `address`. */
  env(address: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Runs a script with cwd examples/python; rejects with its output when it fails. */
  run(
    address: string,
    args: string[],
    env?: Record<string, string>,
  ): Promise<{ stdout: string; stderr: string }>;
}

/**
 * Checks the prerequisites and generates the stubs from proto/ into a temporary directory before
 * the file's tests (removed after them), so the contract cannot drift from what Python speaks.
 */
export function usePythonSide(): PythonSide {
  let genDir = "";
  beforeAll(async () => {
    checkPrerequisites();
    genDir = await mkdtemp(join(tmpdir(), "tollgate-python-"));
    await run("bash", [`${pythonDir}/generate.sh`, genDir]);
  });
  afterAll(async () => {
    if (genDir) await rm(genDir, { recursive: true, force: true });
  });
  const env = (address: string, extra: Record<string, string> = {}) => ({
    ...process.env,
    TOLLGATE_ADDRESS: address,
    TOLLGATE_API_KEY: apiKey,
    TOLLGATE_PYTHON_GEN: genDir,
    PYTHONPATH: pythonDir,
    PYTHONDONTWRITEBYTECODE: "1",
    ...extra,
  });
  return {
    get genDir() {
      return genDir;
    },
    env,
    async run(address, args, extra = {}) {
      try {
        return await run(python, args, {
          cwd: pythonDir,
          env: env(address, extra),
          timeout: 60_000,
        });
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`${python} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`, {
          cause: error,
        });
      }
    },
  };
}
