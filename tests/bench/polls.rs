//! `bench polls`: thousands of distinct voters in one room vote in one
//! poll at the same instant over their WebSockets (protobuf frames), a few
//! rounds in a row. The voters are spread over two gateways, held by one
//! client process each (`bench polls-voters`, see voters.rs). Prints accepted votes/s, vote latency (send → reply),
//! the CPU each process spent, and checks that the poll's final tally
//! equals the accepted votes exactly (plus, at most, votes whose caller
//! timed out waiting: those may commit after the deadline).
//!
//! Side by side in one run: the production vote writer (votes batched per
//! replica) and the same stack writing every vote on its own
//! (`vote_batch_max = 1`), so the table shows what batching buys on this
//! machine, not a figure to compare across machines.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::{Context, Result, anyhow, bail};
use hearth_platform::auth::TokenKeys;
use hearth_proto::hearth::{
    gateway::v1::{client_frame, server_frame},
    polls::v1::{ClosePollRequest, CreatePollRequest, PollDraft},
};
use tokio::time::Instant;
use uuid::Uuid;

use crate::{
    chat::{BackendConfig, start_stack},
    model::Summary,
    proc::{clock_ticks_per_second, cpu_ticks, machine_busy_ticks, ms, pids_named, raise_nofile_limit},
    storm,
    voters::{VoterProcess, VotersArgs},
    wire::Rpc,
};

#[derive(clap::Args, Debug)]
pub struct PollsArgs {
    /// Distinct voters, each on its own connection, all members of the room.
    #[arg(long, default_value_t = 20_000)]
    pub voters: usize,
    /// Polls voted in one after the other (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Connections being set up at once, per client process.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Gateways the voters are spread over (one client process each: a
    /// process here may hold at most 20,000 open files).
    #[arg(long, default_value_t = 2)]
    pub gateways: usize,
    /// Skip the unbatched comparison.
    #[arg(long)]
    pub skip_unbatched: bool,
}

/// One round's figures.
struct Round {
    accepted: u64,
    refused: BTreeMap<String, u64>,
    elapsed: f64,
    latencies: Summary,
    final_voters: u64,
    final_sum: u64,
    /// CPU seconds of the backend, the gateway, Postgres, Redis + NATS and
    /// the bench clients during the round.
    cpu: [f64; 5],
    /// The whole machine's busy CPU seconds during the round.
    machine: f64,
    /// CPU seconds of the backend and Postgres in the 3 s after the close
    /// (final count, participation points credited to every voter).
    settle: f64,
}

impl Round {
    fn votes_per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed
    }

    fn exact(&self) -> bool {
        self.final_voters == self.accepted && self.final_sum == self.accepted
    }

    /// Votes whose caller gave up waiting (the gateway's deadline): they
    /// may have been committed after it, as any timed-out write may.
    fn ambiguous(&self) -> u64 {
        ["cancelled", "deadline_exceeded", "unavailable"].iter().filter_map(|c| self.refused.get(*c)).sum()
    }

    /// The tally holds every accepted vote, once, plus at most the
    /// timed-out ones; never a refused one.
    fn consistent(&self) -> bool {
        self.final_voters == self.final_sum
            && self.final_voters >= self.accepted
            && self.final_voters <= self.accepted + self.ambiguous()
    }

    fn verdict(&self) -> String {
        if self.exact() {
            "exact".to_owned()
        } else if self.consistent() {
            format!("= accepted + {} of {} timed out", self.final_voters - self.accepted, self.ambiguous())
        } else {
            "MISMATCH".to_owned()
        }
    }
}

pub(crate) async fn create_poll(admin: &Rpc, room: &str, round: usize) -> Result<String> {
    let create = CreatePollRequest {
        room_id: room.to_owned(),
        poll: Some(PollDraft {
            question: format!("Round {round}: red or blue?"),
            options: vec!["Red".into(), "Blue".into()],
            ..Default::default()
        }),
        open_now: true,
        ..Default::default()
    };
    let asked = Instant::now();
    let reply = admin.call_within(client_frame::Kind::CreatePoll(create), Duration::from_secs(120)).await?;
    if asked.elapsed() > Duration::from_secs(2) {
        eprintln!("  (create_poll took {:.1} s)", asked.elapsed().as_secs_f64());
    }
    match reply {
        server_frame::Kind::CreatePoll(reply) => reply.poll.map(|p| p.poll_id).ok_or_else(|| anyhow!("no poll")),
        other => bail!("unexpected create_poll reply {other:?}"),
    }
}

/// Closes the poll; its final (voters, sum of tallies).
pub(crate) async fn close_poll(admin: &Rpc, poll: &str) -> Result<(u64, u64)> {
    let close = client_frame::Kind::ClosePoll(ClosePollRequest { poll_id: poll.to_owned() });
    match admin.call_within(close, Duration::from_secs(120)).await? {
        server_frame::Kind::ClosePoll(reply) => {
            let results = reply.poll.and_then(|p| p.results).ok_or_else(|| anyhow!("no final results"))?;
            Ok((results.voter_count, results.tallies.iter().map(|t| t.votes).sum()))
        }
        other => bail!("unexpected close_poll reply {other:?}"),
    }
}

/// Runs the rounds against one stack.
async fn measure(args: &PollsArgs, batch_max: usize) -> Result<Vec<Round>> {
    let stack = start_stack(BackendConfig { gateways: args.gateways.max(1), polls_batch_max: Some(batch_max) }).await?;
    let keys = Arc::new(TokenKeys::from_config(&stack.config.auth)?);
    let admin_token = keys.issue(&Uuid::now_v7().to_string(), &Uuid::now_v7().to_string(), &["admin".to_owned()])?;
    let (admin, _events) = Rpc::connect(&stack.gateways[0].url, &admin_token).await.context("admin")?;
    let room = storm::create_channel_room(&admin).await?;
    // Voters are spread over the gateways, one client process each.
    let per = args.voters.div_ceil(stack.gateways.len());
    let mut processes = Vec::new();
    for (index, gateway) in stack.gateways.iter().enumerate() {
        let first = index * per;
        let count = per.min(args.voters.saturating_sub(first));
        if count == 0 {
            continue;
        }
        let voters = VotersArgs {
            url: format!("{}?encoding=protobuf", gateway.url),
            room: room.clone(),
            first,
            count,
            concurrency: args.concurrency,
        };
        processes.push(VoterProcess::spawn(&voters, &stack.config.auth)?);
    }
    eprintln!("bench polls: {} voters join the room over {} gateways …", args.voters, stack.gateways.len());
    let started = Instant::now();
    let (mut ok, mut failed) = (0usize, BTreeMap::<String, usize>::new());
    for process in &mut processes {
        let joined = process.joined().await?;
        ok += joined.ok;
        for (code, n) in joined.failed {
            *failed.entry(code).or_insert(0) += n;
        }
    }
    eprintln!("  {ok} joined, {failed:?} failed in {:.1} s", started.elapsed().as_secs_f64());
    if ok == 0 {
        bail!("no voter could join");
    }
    // Let the servers finish the joins' aftermath (presence, snapshots).
    tokio::time::sleep(Duration::from_secs(10)).await;

    let groups = [
        vec![stack.backend.pid()],
        stack.gateways.iter().map(|g| g.pid()).collect(),
        pids_named("postgres"),
        [pids_named("redis-server"), pids_named("nats-server")].concat(),
        [vec![std::process::id()], processes.iter().map(VoterProcess::pid).collect()].concat(),
    ];
    let group_ticks =
        || -> Vec<u64> { groups.iter().map(|pids| pids.iter().map(|p| cpu_ticks(*p).unwrap_or(0)).sum()).collect() };
    let ticks = clock_ticks_per_second() as f64;
    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let poll = create_poll(&admin, &room, round).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let cpu_before = group_ticks();
        let machine_before = machine_busy_ticks().unwrap_or(0);
        let start = Instant::now();
        for process in &mut processes {
            process.go(round, &poll).await?;
        }
        let mut refused = BTreeMap::new();
        let mut latencies = Vec::with_capacity(ok);
        for process in &mut processes {
            let casts = process.casts().await?;
            latencies.extend(casts.latencies);
            for (code, n) in casts.refused {
                *refused.entry(code).or_insert(0) += n;
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        let cpu_after = group_ticks();
        let machine = machine_busy_ticks().unwrap_or(0).saturating_sub(machine_before) as f64 / ticks;
        let (final_voters, final_sum) = close_poll(&admin, &poll).await?;
        // Closing credits every voter's participation points (a timer job
        // right after the close): what that costs the backend and Postgres.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let settled = group_ticks();
        let settle = [0, 2].iter().map(|&i| settled[i].saturating_sub(cpu_after[i]) as f64 / ticks).sum();
        let accepted = latencies.len() as u64;
        let cpu = [0, 1, 2, 3, 4].map(|i| cpu_after[i].saturating_sub(cpu_before[i]) as f64 / ticks);
        let round = Round {
            accepted,
            refused,
            elapsed,
            latencies: Summary::of(&latencies),
            final_voters,
            final_sum,
            cpu,
            machine,
            settle,
        };
        eprintln!(
            "  round {}: {} accepted in {:.2} s = {:.0} votes/s, p50 {} p99 {}, refused {:?}, final tally {} ({})",
            rounds.len() + 1,
            round.accepted,
            round.elapsed,
            round.votes_per_second(),
            ms(round.latencies.p50),
            ms(round.latencies.p99),
            round.refused,
            round.final_voters,
            round.verdict()
        );
        rounds.push(round);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for process in processes {
        process.stop().await?;
    }
    drop(admin);
    stack.stop().await?;
    Ok(rounds)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(name: &str, voters: usize, rounds: &[Round]) {
    let vps = median(rounds.iter().map(Round::votes_per_second).collect());
    let p50 = median(rounds.iter().map(|r| r.latencies.p50).collect());
    let p99 = median(rounds.iter().map(|r| r.latencies.p99).collect());
    let verdicts: Vec<String> = rounds.iter().map(Round::verdict).collect();
    let refused: u64 = rounds.iter().flat_map(|r| r.refused.values()).sum();
    let per_vote =
        |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(|r| f(r) * 1e6 / r.accepted.max(1) as f64).collect());
    let cpu = |i: usize| per_vote(&|r: &Round| r.cpu[i]);
    let server = per_vote(&|r: &Round| r.cpu[..4].iter().sum());
    let busy = median(rounds.iter().map(|r| r.machine / r.elapsed).collect());
    println!(
        "{name:<10} {voters:>6} voters {vps:>7.0} votes/s  p50 {:>9}  p99 {:>9}  refused {refused}  tally {}",
        ms(p50),
        ms(p99),
        verdicts.join(", "),
    );
    println!(
        "{:<10} CPU µs/vote: backend {:.0}, gateway {:.0}, postgres {:.0}, redis+nats {:.0}, bench clients {:.0}; \
         machine busy {:.2} of 2 cores; servers alone {server:.0} µs/vote = {:.0} votes/s on 2 cores",
        "",
        cpu(0),
        cpu(1),
        cpu(2),
        cpu(3),
        cpu(4),
        busy,
        2e6 / server
    );
    println!(
        "{:<10} closing the poll and crediting every voter's points afterwards: {:.0} µs/vote of backend + postgres CPU",
        "",
        per_vote(&|r: &Round| r.settle)
    );
}

pub async fn run(args: PollsArgs) -> Result<bool> {
    raise_nofile_limit(1024);
    let batched = measure(&args, 512).await?;
    let unbatched = if args.skip_unbatched { None } else { Some(measure(&args, 1).await?) };
    println!();
    println!("bench polls: {} rounds each (medians); target ≥ 20,000 votes/s on this machine", args.rounds);
    report("batched", args.voters, &batched);
    if let Some(unbatched) = &unbatched {
        report("unbatched", args.voters, unbatched);
        let ratio = median(batched.iter().map(Round::votes_per_second).collect())
            / median(unbatched.iter().map(Round::votes_per_second).collect());
        println!("batching: {ratio:.1}× the votes/s of writing each vote alone");
    }
    Ok(batched.iter().all(Round::consistent) && unbatched.iter().flatten().all(Round::consistent))
}
