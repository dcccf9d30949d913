//! One step of moving an instance's primary role to a standby, fenced by the record's
//! `switching_over` or `failing_over` state: a delete that overtook the switchover or the
//! failover leaves nothing for it to do. The platform's steps are each repeatable (see `Platform::stop_primary`, `promote`,
//! `rejoin`), so a step retried after a crash of the server does its work once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use duroxide::ActivityContext;

use super::readiness;
use crate::Dependencies;
use crate::activity_types::{MovePrimaryInput, MovePrimaryOutcome, PrimaryStep};
use crate::cms::InstanceState;
use crate::domain::{InstanceName, MemberRole, MemberState};
use crate::platform::{Login, Member, PlatformError, PrimaryHealth, Whose};
use toygres_cms::fence::{self, Fenced};

pub const NAME: &str = crate::names::activities::MOVE_PRIMARY;

pub async fn run(
    deps: Arc<Dependencies>,
    ctx: ActivityContext,
    input: MovePrimaryInput,
) -> Result<MovePrimaryOutcome, String> {
    let name = &input.name;
    let whose = Whose::Record(input.record_id);
    let started = Instant::now();
    let fenced = fence::while_in_state(
        &deps.fences,
        input.record_id,
        &[InstanceState::SwitchingOver, InstanceState::FailingOver],
        || step(&deps, name, whose, &input.step),
    )
    .await
    .map_err(|e| e.to_string())?;
    let outcome = match fenced {
        Ok(Fenced::Done(outcome)) => outcome,
        Ok(Fenced::Skipped { current }) => {
            ctx.trace_warn(format!(
                "instance={name}: nothing done, the record is {current}"
            ));
            return Ok(MovePrimaryOutcome::Skipped { state: current });
        }
        Err(PlatformError::Unsupported(reason)) => {
            return Ok(MovePrimaryOutcome::Refused { reason });
        }
        Err(e) => {
            let message = format!("{:?} of instance {name}: {e}", input.step);
            ctx.trace_error(format!("instance={name}: {message}"));
            return Err(message);
        }
    };
    if !matches!(outcome, MovePrimaryOutcome::Rejoined { .. }) {
        return Ok(outcome);
    }
    let deadline = started + Duration::from_secs(input.readiness_timeout_secs);
    if let Err(reason) = readiness::wait_until_ready(&deps, name, started, deadline).await? {
        return Err(format!("the new primary of {name} is not ready: {reason}"));
    }
    let (endpoint, _) = readiness::log_in(&deps, name, Login::Owner).await?;
    ctx.trace_info(format!(
        "instance={name}: the new primary takes logins at {}:{}",
        endpoint.host, endpoint.port
    ));
    Ok(MovePrimaryOutcome::Rejoined { endpoint })
}

async fn step(
    deps: &Dependencies,
    name: &InstanceName,
    whose: Whose,
    step: &PrimaryStep,
) -> Result<MovePrimaryOutcome, PlatformError> {
    let platform = &deps.platform;
    match *step {
        PrimaryStep::ConfirmFailed => confirm_failed(deps, name).await,
        PrimaryStep::Fence => {
            platform.fence_primary(name, whose).await?;
            Ok(MovePrimaryOutcome::Fenced)
        }
        PrimaryStep::ChooseMostAdvanced => {
            let members = platform.members(name).await?;
            most_advanced(name, &members).map_err(PlatformError::Unsupported)
        }
        PrimaryStep::ChooseMostAdvancedSince {
            primary_wal_position,
        } => {
            let members = platform.members(name).await?;
            let (from, chosen) =
                most_advanced_member(name, &members).map_err(PlatformError::Unsupported)?;
            Ok(MovePrimaryOutcome::ChosenBehind {
                from,
                to: chosen.number,
                lag_bytes: lag(primary_wal_position, chosen.wal_position),
            })
        }
        PrimaryStep::Choose { to } => {
            let members = platform.members(name).await?;
            choose(name, &members, to).map_err(PlatformError::Unsupported)
        }
        PrimaryStep::StopPrimary => {
            let wal_ends_at = platform.stop_primary(name, whose).await?;
            Ok(MovePrimaryOutcome::Stopped { wal_ends_at })
        }
        PrimaryStep::Promote {
            member,
            caught_up_to,
        } => {
            platform.promote(name, whose, member, caught_up_to).await?;
            Ok(MovePrimaryOutcome::Promoted)
        }
        PrimaryStep::Rejoin => {
            platform.rejoin(name, whose).await?;
            // The endpoint is read once the new primary is ready (see `run`).
            Ok(MovePrimaryOutcome::Rejoined {
                endpoint: platform.endpoint(name).await?,
            })
        }
    }
}

/// How many looks at the primary confirm a failure, and how far apart.
const CONFIRMING_LOOKS: u32 = 3;
const BETWEEN_LOOKS: Duration = Duration::from_millis(200);

/// Whether the primary has failed: its process is gone at every look, or it has not
/// answered at any (a primary that answers once is alive, whatever was seen before).
async fn confirm_failed(
    deps: &Dependencies,
    name: &InstanceName,
) -> Result<MovePrimaryOutcome, PlatformError> {
    let mut seen = Vec::new();
    for look in 0..CONFIRMING_LOOKS {
        if look > 0 {
            tokio::time::sleep(BETWEEN_LOOKS).await;
        }
        match deps.platform.primary_health(name).await? {
            PrimaryHealth::Answers { .. } => return Ok(MovePrimaryOutcome::PrimaryAnswers),
            health => seen.push(health),
        }
    }
    let evidence = match seen.iter().all(|h| *h == PrimaryHealth::Gone) {
        true => "its server process is gone".to_string(),
        false => format!(
            "its server did not answer {CONFIRMING_LOOKS} times in {} ms",
            BETWEEN_LOOKS.as_millis() * u128::from(CONFIRMING_LOOKS - 1)
        ),
    };
    Ok(MovePrimaryOutcome::Confirmed { evidence })
}

/// The standby to promote when the primary has failed: of those that answer, the one
/// whose WAL reaches furthest (the fewest acknowledged commits lost; with synchronous
/// standbys, one that has every one of them).
pub fn most_advanced(
    name: &InstanceName,
    members: &[Member],
) -> Result<MovePrimaryOutcome, String> {
    let (from, chosen) = most_advanced_member(name, members)?;
    Ok(MovePrimaryOutcome::Chosen {
        from,
        to: chosen.number,
    })
}

/// The failed primary's number and the standby [`most_advanced`] chooses.
fn most_advanced_member<'m>(
    name: &InstanceName,
    members: &'m [Member],
) -> Result<(u8, &'m Member), String> {
    let from = members
        .iter()
        .find(|m| m.role == MemberRole::Primary)
        .map(|m| m.number)
        .ok_or_else(|| format!("{name} has no recorded primary"))?;
    let chosen = members
        .iter()
        .filter(|m| m.number != from && m.role == MemberRole::Standby)
        .filter(|m| matches!(m.state, MemberState::Streaming | MemberState::Disconnected))
        .max_by_key(|m| (m.wal_position.unwrap_or(0), std::cmp::Reverse(m.number)))
        .ok_or_else(|| format!("{name} has no standby that answers: nothing to promote"))?;
    Ok((from, chosen))
}

/// How far `reached` is behind the failed primary's last known WAL position, when both
/// are known.
pub fn lag(primary_wal_position: Option<u64>, reached: Option<u64>) -> Option<u64> {
    Some(primary_wal_position?.saturating_sub(reached?))
}

/// The member to promote: `to` when it is a standby that streams, else the streaming
/// standby with the least lag; `Err` says why there is none.
pub fn choose(
    name: &InstanceName,
    members: &[Member],
    to: Option<u8>,
) -> Result<MovePrimaryOutcome, String> {
    let primary = members
        .iter()
        .find(|m| m.role == MemberRole::Primary && m.state == MemberState::Running)
        .ok_or_else(|| format!("{name} has no running primary to move"))?;
    let streaming =
        |m: &&Member| m.role == MemberRole::Standby && m.state == MemberState::Streaming;
    let chosen = match to {
        Some(number) => {
            let member = members
                .iter()
                .find(|m| m.number == number)
                .ok_or_else(|| format!("{name} has no member {name}-{number}"))?;
            if member.number == primary.number {
                return Err(format!("{name}-{number} is the primary already"));
            }
            Some(member).filter(streaming).ok_or_else(|| {
                format!("{name}-{number} does not stream from the primary; it cannot take over")
            })?
        }
        None => members
            .iter()
            .filter(streaming)
            .min_by_key(|m| (m.lag_bytes.unwrap_or(u64::MAX), m.number))
            .ok_or_else(|| format!("{name} has no standby that streams from the primary"))?,
    };
    Ok(MovePrimaryOutcome::Chosen {
        from: primary.number,
        to: chosen.number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(number: u8, role: MemberRole, state: MemberState, lag: u64) -> Member {
        Member {
            name: format!("shop-{number}"),
            number,
            role,
            host: "127.0.0.1".into(),
            port: 20000 + u16::from(number),
            state,
            lag_bytes: Some(lag),
            wal_position: Some(1_000 - lag),
            timeline: Some(1),
        }
    }

    #[test]
    fn a_failover_promotes_the_standby_whose_wal_reaches_furthest() {
        let name = InstanceName::parse("shop").unwrap();
        let members = [
            member(1, MemberRole::Primary, MemberState::Stopped, 0),
            member(2, MemberRole::Standby, MemberState::Disconnected, 300),
            member(3, MemberRole::Standby, MemberState::Disconnected, 20),
            member(4, MemberRole::Standby, MemberState::Unreachable, 0),
        ];
        assert_eq!(
            most_advanced(&name, &members),
            Ok(MovePrimaryOutcome::Chosen { from: 1, to: 3 })
        );
        let none = &members[..1];
        assert!(
            most_advanced(&name, none)
                .unwrap_err()
                .contains("nothing to promote")
        );
    }

    #[test]
    fn the_lag_at_failover_is_known_only_when_both_positions_are() {
        assert_eq!(lag(Some(1_000), Some(980)), Some(20));
        assert_eq!(
            lag(Some(1_000), Some(1_040)),
            Some(0),
            "ahead of the last look"
        );
        assert_eq!(lag(None, Some(980)), None);
        assert_eq!(lag(Some(1_000), None), None);
    }

    #[test]
    fn the_least_lagging_streaming_standby_is_chosen_unless_one_is_named() {
        let name = InstanceName::parse("shop").unwrap();
        let members = [
            member(1, MemberRole::Primary, MemberState::Running, 0),
            member(2, MemberRole::Standby, MemberState::Streaming, 900),
            member(3, MemberRole::Standby, MemberState::Streaming, 10),
            member(4, MemberRole::Standby, MemberState::Stopped, 0),
        ];
        let chosen = |to| choose(&name, &members, to);
        assert_eq!(
            chosen(None),
            Ok(MovePrimaryOutcome::Chosen { from: 1, to: 3 })
        );
        assert_eq!(
            chosen(Some(2)),
            Ok(MovePrimaryOutcome::Chosen { from: 1, to: 2 })
        );
        assert!(chosen(Some(1)).unwrap_err().contains("primary already"));
        assert!(chosen(Some(4)).unwrap_err().contains("does not stream"));
        assert!(chosen(Some(9)).unwrap_err().contains("no member shop-9"));
        let alone = [member(1, MemberRole::Primary, MemberState::Running, 0)];
        assert!(
            choose(&name, &alone, None)
                .unwrap_err()
                .contains("no standby")
        );
    }
}
