//! gRPC through the tap with a real gRPC client and server (tonic): a unary call and a
//! server-streaming one, with request metadata, response headers and trailers intact. The
//! model speaks HTTP/2 only, so a call forwarded any other way fails.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, prost::Message)]
struct EchoRequest {
    #[prost(string, tag = "1")]
    message: String,
    #[prost(uint32, tag = "2")]
    count: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EchoReply {
    #[prost(string, tag = "1")]
    message: String,
    #[prost(uint32, tag = "2")]
    index: u32,
}

const UNARY: &str = "/drifttap.test.Echo/Unary";
const STREAM: &str = "/drifttap.test.Echo/Stream";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Echoes the message, and the caller's `x-tenant` as the response header `x-tenant-echo`.
struct Unary;

impl tonic::server::UnaryService<EchoRequest> for Unary {
    type Response = EchoReply;
    type Future = BoxFuture<Result<Response<EchoReply>, Status>>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            let tenant = request.metadata().get("x-tenant").cloned();
            let message = request.into_inner().message;
            let mut response = Response::new(EchoReply { message, index: 0 });
            if let Some(tenant) = tenant {
                response.metadata_mut().insert("x-tenant-echo", tenant);
            }
            Ok(response)
        })
    }
}

/// Sends `count` replies, then ends the call with `RESOURCE_EXHAUSTED` and the trailer
/// `x-reason: enough`: the status and the trailer travel in the HTTP/2 trailers.
struct Stream;

type Replies = futures_util::stream::Iter<std::vec::IntoIter<Result<EchoReply, Status>>>;

impl tonic::server::ServerStreamingService<EchoRequest> for Stream {
    type Response = EchoReply;
    type ResponseStream = Replies;
    type Future = BoxFuture<Result<Response<Replies>, Status>>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            let request = request.into_inner();
            let mut replies: Vec<Result<EchoReply, Status>> = (0..request.count)
                .map(|index| {
                    Ok(EchoReply {
                        message: format!("{} #{index}", request.message),
                        index,
                    })
                })
                .collect();
            let mut trailer = tonic::metadata::MetadataMap::new();
            trailer.insert("x-reason", "enough".parse().expect("ascii"));
            replies.push(Err(Status::with_metadata(
                Code::ResourceExhausted,
                "no more",
                trailer,
            )));
            Ok(Response::new(futures_util::stream::iter(replies)))
        })
    }
}

/// A gRPC server that speaks HTTP/2 only (as gRPC servers do); returns its address.
async fn grpc_model() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service =
                hyper::service::service_fn(|request: http::Request<Incoming>| async move {
                    let response = match request.uri().path() {
                        UNARY => {
                            let codec = ProstCodec::<EchoReply, EchoRequest>::default();
                            tonic::server::Grpc::new(codec).unary(Unary, request).await
                        }
                        STREAM => {
                            let codec = ProstCodec::<EchoReply, EchoRequest>::default();
                            tonic::server::Grpc::new(codec)
                                .server_streaming(Stream, request)
                                .await
                        }
                        _ => Status::unimplemented("no such method").into_http(),
                    };
                    Ok::<_, Infallible>(response)
                });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    address
}

type GrpcClient = tonic::client::Grpc<
    Client<hyper_util::client::legacy::connect::HttpConnector, tonic::body::Body>,
>;

/// A tonic client to a tap in front of `model`, over HTTP/2 with prior knowledge as gRPC
/// clients connect, ready for its first call.
async fn client_through_tap(model: std::net::SocketAddr) -> GrpcClient {
    let (tap, _observed) = crate::tap::tap(&format!("http://{model}"), 1 << 20).await;
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<tonic::body::Body>();
    let origin = format!("http://{tap}").parse().expect("origin");
    let mut client = tonic::client::Grpc::with_origin(client, origin);
    client
        .ready()
        .await
        .expect("the tap accepts the connection");
    client
}

/// A unary `Echo/Unary` call.
async fn unary(
    client: &mut GrpcClient,
    request: Request<EchoRequest>,
) -> Result<Response<EchoReply>, Status> {
    client
        .unary(
            request,
            http::uri::PathAndQuery::from_static(UNARY),
            ProstCodec::<EchoRequest, EchoReply>::default(),
        )
        .await
}

#[tokio::test]
async fn unary_and_server_streaming_calls_pass_with_metadata_and_trailers() {
    let model = grpc_model().await;
    let mut client = client_through_tap(model).await;

    let mut request = Request::new(EchoRequest {
        message: "hello".into(),
        count: 0,
    });
    request
        .metadata_mut()
        .insert("x-tenant", "acme".parse().expect("ascii"));
    let response = unary(&mut client, request)
        .await
        .expect("the unary call succeeds through the tap");
    assert_eq!(
        response
            .metadata()
            .get("x-tenant-echo")
            .and_then(|v| v.to_str().ok()),
        Some("acme"),
        "request metadata reached the model and its response header came back"
    );
    assert_eq!(response.into_inner().message, "hello");

    client.ready().await.expect("ready for the next call");
    let response = client
        .server_streaming(
            Request::new(EchoRequest {
                message: "tick".into(),
                count: 3,
            }),
            http::uri::PathAndQuery::from_static(STREAM),
            ProstCodec::<EchoRequest, EchoReply>::default(),
        )
        .await
        .expect("the streaming call starts");
    let mut stream = response.into_inner();
    let mut replies = Vec::new();
    let status = loop {
        match stream.message().await {
            Ok(Some(reply)) => replies.push((reply.index, reply.message)),
            Ok(None) => panic!("the call ended without its status: {replies:?}"),
            Err(status) => break status,
        }
    };
    assert_eq!(
        replies,
        [
            (0, "tick #0".to_string()),
            (1, "tick #1".to_string()),
            (2, "tick #2".to_string())
        ]
    );
    // grpc-status, grpc-message and the custom field came in the trailers.
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(status.message(), "no more");
    assert_eq!(
        status
            .metadata()
            .get("x-reason")
            .and_then(|v| v.to_str().ok()),
        Some("enough")
    );
}

#[tokio::test]
async fn a_model_without_http2_is_unavailable_to_grpc_clients() {
    // An HTTP/1.1-only model (a plain TCP server that answers 400 to the preface and closes).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let model = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    let mut client = client_through_tap(model).await;
    let status = unary(&mut client, Request::new(EchoRequest::default()))
        .await
        .expect_err("the model cannot take the call");
    // A gRPC error of the tap's own, as gRPC's HTTP mapping has it: a 502 is UNAVAILABLE.
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("not HTTP/2"), "{status:?}");
}
