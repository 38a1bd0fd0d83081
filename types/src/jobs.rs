//! Job ids and pricing multipliers (DESIGN "The eight jobs"), checked against the Solidity
//! constants in `AgentJobs.sol` by this crate's tests.

/// The eight jobs of the blueprint; the discriminant is the on-chain job index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Job {
    Provision = 0,
    Exec = 1,
    Prompt = 2,
    Task = 3,
    SshProvision = 4,
    SshRevoke = 5,
    Snapshot = 6,
    Deprovision = 7,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown job index {0} (the blueprint defines jobs 0..=7)")]
pub struct UnknownJob(pub u8);

impl Job {
    pub const ALL: [Job; 8] = [
        Job::Provision,
        Job::Exec,
        Job::Prompt,
        Job::Task,
        Job::SshProvision,
        Job::SshRevoke,
        Job::Snapshot,
        Job::Deprovision,
    ];

    /// The on-chain job index.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// Price relative to the base rate.
    pub const fn multiplier(self) -> u64 {
        match self {
            Job::Exec | Job::SshRevoke | Job::Deprovision => 1,
            Job::SshProvision => 2,
            Job::Snapshot => 5,
            Job::Prompt => 20,
            Job::Provision => 50,
            Job::Task => 250,
        }
    }

    /// Whether every operator of the service must answer (required results = N).
    pub const fn replicated(self) -> bool {
        matches!(
            self,
            Job::Provision | Job::Prompt | Job::Task | Job::Deprovision
        )
    }

    pub const fn name(self) -> &'static str {
        match self {
            Job::Provision => "PROVISION",
            Job::Exec => "EXEC",
            Job::Prompt => "PROMPT",
            Job::Task => "TASK",
            Job::SshProvision => "SSH_PROVISION",
            Job::SshRevoke => "SSH_REVOKE",
            Job::Snapshot => "SNAPSHOT",
            Job::Deprovision => "DEPROVISION",
        }
    }
}

impl TryFrom<u8> for Job {
    type Error = UnknownJob;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Job::ALL.get(usize::from(v)).copied().ok_or(UnknownJob(v))
    }
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
