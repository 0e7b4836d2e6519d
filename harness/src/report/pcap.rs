//! One pcap file per flow run: every message that was on the wire (not the hops between
//! emulated nodes), with the loopback addresses and ports of the trace, as IPv4 packets
//! (link type RAW). UDP messages become UDP datagrams; TCP messages become TCP segments with
//! sequence numbers per direction (no handshake), so Wireshark and tshark decode them as SIP.

use crate::flow::interp::FlowOutcome;
use crate::net::{Direction, Transport};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

/// Largest TCP payload put in one synthesised segment.
const SEGMENT: usize = 60_000;

/// Builds the pcap of a flow run; `started` is the run's start (packet times are offsets).
pub fn render(outcome: &FlowOutcome, started: SystemTime) -> Result<Vec<u8>, String> {
    let header = PcapHeader {
        datalink: DataLink::RAW,
        snaplen: 262_144,
        ..PcapHeader::default()
    };
    let mut writer =
        PcapWriter::with_header(Vec::new(), header).map_err(|e| format!("pcap: {e}"))?;
    let base = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mut sequences: HashMap<(SocketAddr, SocketAddr), u32> = HashMap::new();
    for entry in outcome
        .trace
        .iter()
        .filter(|e| e.direction != Direction::Internal)
    {
        let (Ok(from), Ok(to)) = (
            entry.from_addr.parse::<SocketAddr>(),
            entry.to_addr.parse::<SocketAddr>(),
        ) else {
            continue;
        };
        let (SocketAddr::V4(src), SocketAddr::V4(dst)) = (from, to) else {
            continue;
        };
        let payload = entry.raw();
        let time = base + Duration::from_micros(entry.at_us);
        let packets: Vec<Vec<u8>> = match entry.transport {
            Transport::Udp => vec![ipv4(
                *src.ip(),
                *dst.ip(),
                17,
                &udp(src.port(), dst.port(), &payload),
            )],
            // A TLS run's messages are written as the plain text over TCP.
            Transport::Tcp | Transport::Tls => payload
                .chunks(SEGMENT)
                .map(|chunk| {
                    let ack = *sequences.get(&(to, from)).unwrap_or(&1);
                    let seq = sequences.entry((from, to)).or_insert(1);
                    let segment = tcp(src.port(), dst.port(), *seq, ack, chunk);
                    *seq = seq.wrapping_add(chunk.len() as u32);
                    ipv4(*src.ip(), *dst.ip(), 6, &segment)
                })
                .collect(),
        };
        for packet in packets {
            let packet = PcapPacket::new(time, packet.len() as u32, &packet);
            writer
                .write_packet(&packet)
                .map_err(|e| format!("pcap: {e}"))?;
        }
    }
    Ok(writer.into_writer())
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()).min(u16::MAX as usize) as u16;
    let mut header = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, protocol, 0, 0];
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    let checksum = internet_checksum(&header);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    header.extend_from_slice(&payload[..payload.len().min(u16::MAX as usize - 20)]);
    header
}

fn udp(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
    let length = (8 + payload.len()).min(u16::MAX as usize) as u16;
    let mut datagram = Vec::with_capacity(8 + payload.len());
    datagram.extend_from_slice(&src.to_be_bytes());
    datagram.extend_from_slice(&dst.to_be_bytes());
    datagram.extend_from_slice(&length.to_be_bytes());
    datagram.extend_from_slice(&[0, 0]); // no checksum (allowed over IPv4)
    datagram.extend_from_slice(payload);
    datagram
}

fn tcp(src: u16, dst: u16, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let mut segment = Vec::with_capacity(20 + payload.len());
    segment.extend_from_slice(&src.to_be_bytes());
    segment.extend_from_slice(&dst.to_be_bytes());
    segment.extend_from_slice(&seq.to_be_bytes());
    segment.extend_from_slice(&ack.to_be_bytes());
    segment.extend_from_slice(&[0x50, 0x18]); // 20-byte header; PSH, ACK
    segment.extend_from_slice(&u16::MAX.to_be_bytes()); // window
    segment.extend_from_slice(&[0, 0, 0, 0]); // checksum (not computed), urgent pointer
    segment.extend_from_slice(payload);
    segment
}

/// RFC 791 header checksum.
fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let packet = ipv4(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST,
            17,
            &udp(5060, 5070, b"OPTIONS"),
        );
        assert_eq!(
            internet_checksum(&packet[..20]),
            0,
            "a header with its checksum sums to zero"
        );
        assert_eq!(
            u16::from_be_bytes([packet[2], packet[3]]) as usize,
            packet.len()
        );
    }
}
