/** What went wrong, as a stable code; bad input and failures are reported, never thrown. */
export type TransportFaultCode =
  | 'UNDECODABLE_FRAME'     // not MessagePack, truncated, or trailing bytes
  | 'BAD_FRAME'             // decodable but not a valid frame (wrong shape or types)
  | 'FRAME_TOO_COMPLEX'     // more values or deeper nesting than maxFrameElements / maxFrameDepth
  | 'TEXT_FRAME'            // a ws text message where binary frames are expected
  | 'UNEXPECTED_FRAME'      // a valid frame that makes no sense here (response sent to a server, ...)
  | 'DUPLICATE_CALL_ID'     // a request reused the id of a call still in flight
  | 'PAYLOAD_TOO_LARGE'     // a frame over maxFrameBytes
  | 'FRAME_OVER_HARD_LIMIT' // a frame over the hard limit: the socket is closed
  | 'OVERLOADED'            // a call refused by an in-flight limit
  | 'MAX_CONNECTIONS'       // a connection refused by the connection limit
  | 'HANDSHAKE_TIMEOUT'     // a connection that did not complete its upgrade (or its HTTP request) in time: closed
  | 'BAD_HTTP_REQUEST'      // not a valid HTTP request on the server's port: answered 400/431, closed
  | 'PING_FLOOD'            // a peer sent pings faster than it reads the pongs: the connection is cut
  | 'UNAUTHENTICATED'       // a connection refused by the authentication hook
  | 'PROTOCOL_VERSION'      // a connection refused for its protocol version
  | 'HANDLER_ERROR'         // a handler threw or rejected with a non-RpcError
  | 'NOT_ENCODABLE'         // a result (or params) MessagePack cannot encode
  | 'ADMIT_ERROR'           // the admit hook threw
  | 'SLOW_READER'           // a peer does not read; reading from it is paused
  | 'SLOW_CONSUMER'         // a peer did not read for too long or too much: the connection is cut
  | 'HEARTBEAT_TIMEOUT'     // no traffic (not even a pong) within heartbeatTimeoutMs
  | 'SOCKET_ERROR'          // an error on the underlying socket
  | 'CONNECT_FAILED'        // a (re)connect attempt failed
  | 'TLS_VERIFICATION_FAILED'; // the server's certificate was rejected: not retried

export interface TransportFault {
  code: TransportFaultCode;
  message: string;
  /** "address:port" of the other side, when known. */
  peer?: string;
  detail?: Record<string, unknown>;
}
