//! A minimal JSON-RPC probe over plain HTTP/1.1 (std only): is the node answering yet?

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `eth_chainId` to `addr`; true when the reply is an HTTP 200 carrying a JSON-RPC
/// `result`.
pub fn answers(addr: SocketAddr, timeout: Duration) -> bool {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if stream.set_read_timeout(Some(timeout)).is_err()
        || stream.set_write_timeout(Some(timeout)).is_err()
        || stream.write_all(request.as_bytes()).is_err()
    {
        return false;
    }
    let mut reply = Vec::new();
    // The server closes the connection after the reply (`Connection: close`); a read timeout
    // after a complete reply still leaves the bytes in `reply`.
    let _ = stream.take(64 * 1024).read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    let status_ok = reply
        .lines()
        .next()
        .is_some_and(|status| status.split_whitespace().nth(1) == Some("200"));
    status_ok && reply.contains("\"result\"")
}
