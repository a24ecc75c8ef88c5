export { RpcError, RPC_ERROR_CODES, isRpcErrorCode } from './rpc-error';
export type { RpcErrorCode, RpcErrorOptions } from './rpc-error';
export { RpcServer } from './rpc-server';
export type {
  RpcServerOptions, RpcServerEvents, AuthenticateRequest, CallContext, PeerInfo, Handler, AdmitCall, AdmitDecision, AdmitHold, AdmitHook,
} from './rpc-server';
export { RpcConnection } from './rpc-connection';
export type { RpcConnectionOptions, CallOptions, RpcResponse, ConnectionState, DownEvent, RpcConnectionEvents } from './rpc-connection';
export type { TransportFault, TransportFaultCode } from './transport-fault';
export { PROTOCOL_VERSION, PROTOCOL_HEADER } from './protocol';
export {
  FrameType, FrameError, DEFAULT_DECODE_LIMITS, decodeFrame, encodeRequest, encodeResponse, encodeError, encodeCancel, peekHeader, MAX_CALL_ID,
} from './codec';
export type { DecodeLimits, Frame, RequestFrame, ResponseFrame, ErrorFrame, CancelFrame, ErrorFields } from './codec';
export { clientSettings } from './client-options';
