import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { type Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/es/google/rpc/error_details_pb.js";
import type { RpcStatus } from "../rpc/error-status.js";

/** Details the Connect error carries decoded, so its JSON form has a readable `debug` copy. */
const knownDetails: ReadonlyMap<string, DescMessage> = new Map<string, DescMessage>([
  [ErrorInfoSchema.typeName, ErrorInfoSchema],
  [BadRequestSchema.typeName, BadRequestSchema],
]);

/**
 * The Connect rendering of a {@link RpcStatus} (the gRPC one is `grpcStatusOf`): the same code
 * (Connect's codes are gRPC's, number for number), the same message and the same details, so a
 * refusal carries its `google.rpc.ErrorInfo` (reason, domain, metadata) and, for a bad field, its
 * `google.rpc.BadRequest`, whichever transport it came through. In the Connect JSON error each
 * detail is `{"type", "value" (base64), "debug" (the message as JSON)}`; gRPC-Web carries them in
 * `grpc-status-details-bin` as gRPC does.
 */
export function connectErrorOf({ status }: RpcStatus): ConnectError {
  const error = new ConnectError(status.message, status.code as Code);
  for (const detail of status.details) {
    const type = detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1);
    const desc = knownDetails.get(type);
    error.details.push(
      desc === undefined
        ? { type, value: detail.value }
        : { desc, value: fromBinary(desc, detail.value) },
    );
  }
  return error;
}
