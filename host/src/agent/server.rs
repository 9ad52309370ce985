//! The WebSocket server: TLS on a loopback address, one thread per
//! connection, one reply per request in order, nothing unsolicited but the
//! greeting.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::handshake::server::{Request as HttpRequest, Response as HttpResponse};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

use super::handlers::{self, Session};
use super::origin::Origins;
use super::protocol::{Frame, HEARTBEAT, greeting};
use super::token::Token;
use crate::error::{Error, Result};

/// Largest frame and message a page may send (a 64 MiB document in Base64).
const MAX_MESSAGE: usize = 96 << 20;

/// How long a connection may stay silent before it is closed.
const IDLE: Duration = Duration::from_secs(600);

/// What every connection shares.
pub struct Shared {
    /// The card.
    pub token: Token,
    /// Which pages may use it.
    pub origins: Origins,
}

type Tls = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

fn send(ws: &mut WebSocket<Tls>, text: String) -> bool {
    ws.send(Message::text(text)).is_ok()
}

/// Serves one connection until it closes.
fn connection(shared: &Shared, config: Arc<rustls::ServerConfig>, tcp: TcpStream) -> Result<()> {
    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(IDLE));
    let tls =
        rustls::ServerConnection::new(config).map_err(|e| Error::Invalid(format!("TLS: {e}")))?;
    let stream = rustls::StreamOwned::new(tls, tcp);
    let mut origin = None;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    // tungstenite's handshake callback type fixes the error type.
    #[allow(clippy::result_large_err)]
    let callback = |req: &HttpRequest, resp: HttpResponse| {
        origin = req
            .headers()
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(resp)
    };
    let mut ws = tungstenite::accept_hdr_with_config(stream, callback, Some(ws_config))
        .map_err(|e| Error::Invalid(format!("WebSocket handshake from {peer}: {e}")))?;
    let allowed = shared.origins.allows(origin.as_deref());
    eprintln!(
        "tamga agent: connection from {} ({peer}){}",
        origin.as_deref().unwrap_or("a local program"),
        if allowed { "" } else { ": origin not allowed" }
    );
    let mut session = Session {
        origin: origin.clone(),
        locale: Default::default(),
        timing: Default::default(),
        shared: false,
    };
    if !send(&mut ws, greeting().to_string()) {
        return Ok(());
    }
    loop {
        let msg = match ws.read() {
            Ok(m) => m,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(());
            }
            Err(tungstenite::Error::Capacity(e)) => {
                let reply = super::protocol::common_reply(Err(
                    super::protocol::Failure::invocation(format!(
                        "the request is too large ({e}); at most {} MiB",
                        MAX_MESSAGE >> 20
                    )),
                ));
                let _ = send(&mut ws, reply.to_string());
                let _ = ws.close(None);
                return Ok(());
            }
            Err(e) => return Err(Error::Invalid(format!("connection {peer}: {e}"))),
        };
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Binary(_) => {
                let reply = super::protocol::common_reply(Err(
                    super::protocol::Failure::invocation("send requests as text frames"),
                ));
                if !send(&mut ws, reply.to_string()) {
                    return Ok(());
                }
                continue;
            }
            Message::Close(_) => return Ok(()),
            // Pings are answered by tungstenite itself.
            _ => continue,
        };
        let reply = match Frame::parse(&text) {
            Frame::Heartbeat => HEARTBEAT.to_string(),
            Frame::Malformed(why) => super::protocol::common_reply(Err(
                super::protocol::Failure::invocation(format!("malformed request: {why}")),
            ))
            .to_string(),
            Frame::Request(req) if !allowed => {
                let o = origin.as_deref().unwrap_or("null");
                eprintln!(
                    "tamga agent: refused {} {} from {o}",
                    req.module, req.method
                );
                handlers::refuse_origin(&req, o).to_string()
            }
            Frame::Request(req) => {
                let t = Instant::now();
                let reply = handlers::handle(&shared.token, &mut session, &req).to_string();
                let (total, dialog, card) =
                    (t.elapsed(), session.timing.dialog, session.timing.card);
                let ms = |d: Duration| d.as_secs_f64() * 1e3;
                // The agent's own part: what is neither the person nor the card.
                eprintln!(
                    "tamga agent: {} {} from {peer}: {:.3} ms (dialog {:.3} ms, card {:.3} ms, agent {:.3} ms)",
                    req.module,
                    req.method,
                    ms(total),
                    ms(dialog),
                    ms(card),
                    ms(total.saturating_sub(dialog + card))
                );
                reply
            }
        };
        if !send(&mut ws, reply) {
            return Ok(());
        }
    }
}

/// Listens on `addr` (loopback only) until the process ends; prints
/// `listening on wss://ADDR/` once bound.
pub fn serve(
    shared: Arc<Shared>,
    config: Arc<rustls::ServerConfig>,
    addr: SocketAddr,
) -> Result<()> {
    if !addr.ip().is_loopback() {
        return Err(Error::Invalid(format!(
            "{addr} is not a loopback address: tamga agent serves this computer only"
        )));
    }
    let listener = TcpListener::bind(addr).map_err(|e| {
        Error::Invalid(format!(
            "cannot listen on {addr}: {e} (is NCALayer or another tamga agent running?)"
        ))
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    println!("listening on wss://{bound}/");
    for tcp in listener.incoming() {
        let Ok(tcp) = tcp else { continue };
        let shared = Arc::clone(&shared);
        let config = Arc::clone(&config);
        std::thread::spawn(move || {
            if let Err(e) = connection(&shared, config, tcp) {
                eprintln!("tamga agent: {e}");
            }
        });
    }
    Ok(())
}
