# drifttap's container image: `docker build -t drifttap:0.1.0 .`
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin drifttap

FROM debian:bookworm-slim
# The system's CA certificates: an https:// retraining webhook is verified against them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/drifttap /usr/local/bin/drifttap
COPY baselines/credit /baselines/credit-example
# serve: 9472 tap, 9471 ingest and CloudEvents, 9470 admin (/metrics, /healthz, /readyz,
# /v1/status). retrainer: 8080 notifications, 9091 admin.
EXPOSE 9470 9471 9472 8080 9091
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/drifttap"]
CMD ["serve", "--config", "/etc/drifttap/drifttap.yaml"]
