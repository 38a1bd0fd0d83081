//! The Rust job table agrees with the Solidity constants in `AgentJobs.sol`.

use agent_types::Job;

fn solidity_constant(source: &str, name: &str) -> u64 {
    let needle = format!("uint8 internal constant {name} = ");
    let start = source
        .find(&needle)
        .unwrap_or_else(|| panic!("{name} not declared in AgentJobs.sol"))
        + needle.len();
    let end = source[start..].find(';').expect("statement ends") + start;
    source[start..end].trim().parse().expect("a number")
}

#[test]
fn ids_and_multipliers_match_agent_jobs_sol() {
    let source = include_str!("../../contracts/src/AgentJobs.sol");
    for job in Job::ALL {
        assert_eq!(
            u64::from(job.id()),
            solidity_constant(source, job.name()),
            "{job} id"
        );
        let m = format!("{}_MULTIPLIER", job.name());
        assert_eq!(
            job.multiplier(),
            solidity_constant(source, &m),
            "{job} multiplier"
        );
        assert_eq!(Job::try_from(job.id()).ok(), Some(job));
    }
    assert_eq!(
        solidity_constant(source, "JOB_COUNT"),
        Job::ALL.len() as u64
    );
    assert!(Job::try_from(8).is_err());
}
