//! RFC 9293 endpoint states as inferred from the wire (docs/analysis.md#endpoint-states).

use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EndpointState {
    /// No evidence at all about this endpoint.
    #[default]
    Unknown,
    Closed,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl EndpointState {
    /// Every state, in declaration order.
    pub const ALL: [EndpointState; 11] = [
        EndpointState::Unknown,
        EndpointState::Closed,
        EndpointState::SynSent,
        EndpointState::SynReceived,
        EndpointState::Established,
        EndpointState::FinWait1,
        EndpointState::FinWait2,
        EndpointState::CloseWait,
        EndpointState::Closing,
        EndpointState::LastAck,
        EndpointState::TimeWait,
    ];

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Unknown => "UNKNOWN",
            EndpointState::Closed => "CLOSED",
            EndpointState::SynSent => "SYN-SENT",
            EndpointState::SynReceived => "SYN-RECEIVED",
            EndpointState::Established => "ESTABLISHED",
            EndpointState::FinWait1 => "FIN-WAIT-1",
            EndpointState::FinWait2 => "FIN-WAIT-2",
            EndpointState::CloseWait => "CLOSE-WAIT",
            EndpointState::Closing => "CLOSING",
            EndpointState::LastAck => "LAST-ACK",
            EndpointState::TimeWait => "TIME-WAIT",
        }
    }

    /// Synchronized states (RFC 9293): the handshake is done from this endpoint's view.
    pub fn is_synchronized(self) -> bool {
        matches!(
            self,
            EndpointState::Established
                | EndpointState::FinWait1
                | EndpointState::FinWait2
                | EndpointState::CloseWait
                | EndpointState::Closing
                | EndpointState::LastAck
                | EndpointState::TimeWait
        )
    }
}

impl fmt::Display for EndpointState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EndpointState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
