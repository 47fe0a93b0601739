//! A WebSocket through the tap: the upgrade is forwarded, the 101 comes back with its
//! `Upgrade`, and frames flow both ways until the client closes.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket echo server (tungstenite); returns its address.
async fn echo_model() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_close() {
                        break;
                    }
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

#[tokio::test]
async fn a_websocket_echoes_through_the_tap_text_and_binary() {
    let model = echo_model().await;
    let (tap, _observed) = crate::tap::tap(&format!("http://{model}"), 1 << 20).await;
    let (mut socket, response) = tokio_tungstenite::connect_async(format!("ws://{tap}/v1/stream"))
        .await
        .expect("the handshake passes through the tap");
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    let large: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for message in [
        Message::text("hello"),
        Message::binary(large.clone()),
        Message::text("{\"instances\": [[1, 2, 3]]}"),
    ] {
        socket.send(message.clone()).await.expect("send");
        let echoed = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("an echo in time")
            .expect("a frame")
            .expect("a valid frame");
        assert_eq!(echoed, message);
    }
    socket.close(None).await.expect("close");
}
