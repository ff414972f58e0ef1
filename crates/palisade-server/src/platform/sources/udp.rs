//! Syslog over UDP: one datagram is one message. UDP cannot push back on a sender, so a
//! datagram arriving while the queue to the event store is full is dropped and counted
//! (`palisade_syslog_dropped_total`, `palisade_events_total{result="dropped"}`). Datagrams
//! the kernel itself drops when the socket's receive buffer overflows never reach Palisade
//! and are not in these counters: see `RcvbufErrors` in `netstat -su` (or
//! /proc/net/snmp), and raise `net.core.rmem_default` for bursty senders.

use tokio::net::UdpSocket;
use tokio::sync::mpsc::error::TrySendError;

use super::{Ctx, Frame};
use crate::serving;

/// Receives datagrams until shutdown.
pub(crate) async fn serve(ctx: Ctx, socket: UdpSocket) {
    let max = ctx.config.max_message_bytes;
    // A datagram is at most 65,535 bytes; one byte more than kept tells a longer one.
    let mut buf = vec![0u8; 65_536];
    let mut stop = ctx.stop.clone();
    loop {
        let (n, peer) = tokio::select! {
            _ = serving::stopped(&mut stop) => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP errors and the like surface here; the socket is still usable.
                    ctx.state.log(&format!("syslog: UDP receive failed: {e}"));
                    continue;
                }
            },
        };
        let frame = Frame {
            bytes: buf[..n.min(max)].to_vec(),
            truncated: n > max,
            error: None,
        };
        match ctx.tx.try_send(ctx.event(frame, peer.ip())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => ctx.dropped(),
            Err(TrySendError::Closed(_)) => return,
        }
    }
}
