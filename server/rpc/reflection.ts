import { create, type DescFile, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  loadFileDescriptorSetFromBuffer,
  loadSync,
  type PackageDefinition,
} from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { file_tollgate_v1_agent_key_service } from "../../gen/es/tollgate/v1/agent_key_service_pb.js";
import { file_tollgate_v1_catalog_service } from "../../gen/es/tollgate/v1/catalog_service_pb.js";
import { file_tollgate_v1_credential_service } from "../../gen/es/tollgate/v1/credential_service_pb.js";
import { file_tollgate_v1_event_service } from "../../gen/es/tollgate/v1/event_service_pb.js";
import { file_tollgate_v1_receipt_service } from "../../gen/es/tollgate/v1/receipt_service_pb.js";
import { file_tollgate_v1_wallet_service } from "../../gen/es/tollgate/v1/wallet_service_pb.js";

/**
 * Server reflection (grpcurl, grpcui, Postman discover the API without a .proto file).
 *
 * Why the protobuf-es descriptors rather than parsing proto/ at start: they are generated from the
 * same buf build as the ts-proto stubs the server actually runs, are checked for drift in CI, and
 * are compiled into the code, so reflection can never describe a different contract than the one
 * served, needs no .proto files or include paths at runtime, and costs no parse at start-up.
 * The health service comes from grpc-health-check's own .proto, so reflection lists it too.
 */
export function reflectionService(): ReflectionService {
  const files = withDependencies([
    file_tollgate_v1_wallet_service,
    file_tollgate_v1_receipt_service,
    file_tollgate_v1_event_service,
    file_tollgate_v1_agent_key_service,
    file_tollgate_v1_credential_service,
    file_tollgate_v1_catalog_service,
  ]);
  const set = create(FileDescriptorSetSchema, { file: files.map((f) => f.proto) });
  const tollgate = loadFileDescriptorSetFromBuffer(
    Buffer.from(toBinary(FileDescriptorSetSchema, set)),
  );
  const health: PackageDefinition = loadSync(healthProtoPath);
  return new ReflectionService({ ...health, ...tollgate });
}

/** Every file and its transitive imports, each once, imports first (as a descriptor set wants). */
function withDependencies(roots: DescFile[]): DescFile[] {
  const ordered: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (file: DescFile) => {
    if (seen.has(file.name)) return;
    seen.add(file.name);
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const root of roots) visit(root);
  return ordered;
}
