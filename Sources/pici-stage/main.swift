// pici-stage: job records → the same records; each session's history staged as artifacts.
import PiciKit

let help = """
usage: pici-stage [--artifact-dir DIR] [--hosts FILE] [--zmx CMD] [--timeout DUR] [--jobs N] [--job-timeout DUR] [--keep DUR] [--mask-file FILE] [--no-follow] [--follow NAME] [--generation N] [--host NAME] [--clients N]

Reads the records of pici-group on stdin and passes every one on unchanged and in order.
For each job it writes DIR/<name>/<job_id>/<short>.txt and <short>.html from one
`zmx history NAME --html` per session, skipping ended sessions already staged, plus
styles.css and, until the job is published, DIR/.pici/open/<name>.<job_id>.json.
A job with an unsafe name is reported and not passed on. Each running session is followed
with `zmx tail` from the first pass that sees it, by a pici-stage --follow of its own,
so its log is complete however long; see pici-stage(1).

Then it ends what is due: a running job past its deadline (recorded by pici-run, else
--job-timeout) gets artifacts/timeout.json and its sessions are killed, its logs staged
first; with --keep, a job published more than DUR ago has its sessions killed and its
workspace copy removed. A pass with nothing due makes no extra zmx call.

  --artifact-dir DIR   where artifacts go (default $PICI_ARTIFACT_DIR, else /tmp/pici-artifacts)
  --hosts FILE         the build hosts (default: $PICI_HOSTS): a session's history is
                       fetched from the host its record names
  --zmx CMD            the zmx command line (default: $PICI_ZMX, else zmx)
  --timeout DUR        kill each zmx call after DUR (default 30s)
  --jobs N             run up to N zmx history calls at once (default: online CPUs
                       + 1); records still leave in input order
  --job-timeout DUR    the deadline of a job that recorded none (default: none)
  --keep DUR           kill a published job's sessions and remove its workspace copy
                       DUR after it was published (default: never; 0: at once)
  --mask-file FILE     secrets to mask as *** (default: $PICI_MASK_FILE)
  --no-follow          start no follower: running sessions are staged from their history
  --follow NAME        be the follower of session NAME (started by pici-stage and
                       pici-run; reads no records)
  --generation N       which follower of the session this is (with --follow; default 1)
  --host NAME          the session's host in the hosts file (with --follow): zmx tail
                       and zmx history run over ssh
  --clients N          the session's clients in the listing of the pass that started it
                       (with --follow; default: it lists them itself)
  --help, --version

Exit status, the first that applies: 64 usage (or a secret under 4 bytes), 66 no mask
file, 73 a file could not be written, 65 a
malformed line or unsafe name (reported and skipped), 69 a history could not be fetched,
else 0.

"""

Tool.main("pici-stage", help: help, options: [
    .init("artifact-dir", value: true), .init("zmx", value: true), .init("timeout", value: true),
    .init("jobs", value: true), .init("hosts", value: true), .init("follow", value: true), .init("generation", value: true), .init("host", value: true), .init("clients", value: true), .init("no-follow"),
    .init("job-timeout", value: true), .init("keep", value: true),
], masks: true) { args in
    let zmx = ZmxCommand(override: args.value("zmx"), timeout: try args.duration("timeout", default: ZmxCommand.defaultTimeout))
    if let extra = args.positionals.first {
        Diagnostics.error("unexpected argument \(extra) (the artifact dir is --artifact-dir DIR)")
        return .usage
    }
    if let session = args.value("follow") {
        guard SafeName.isSafe(session) else {
            Diagnostics.error("--follow \(SafeName.quoted(session)): not a session name zmx could have")
            return .usage
        }
        let generation = try args.count("generation", default: 1)
        var onHost = zmx
        if let name = args.value("host") {
            guard let host = try Hosts.load(flag: args.value("hosts"))[name] else {
                Diagnostics.error("--host \(name): no such host in the hosts file")
                return .usage
            }
            onHost = ZmxCommand.on(host, local: zmx)
        }
        var clients: Int? = nil
        if let text = args.value("clients") {
            guard let n = Int(text), n >= 0 else {
                Diagnostics.error("--clients: \(SafeName.quoted(text)) is not a count")
                return .usage
            }
            clients = n
        }
        return Follower.run(session: session, artifactDir: ArtifactDir.resolve(args), generation: generation, zmx: onHost, clientsBefore: clients)
    }
    FreedMemory.keepForThisPass()
    let jobs = try args.count("jobs", default: ChildPool.onlineCPUs + 1)
    var reaping = try Reaper.Options(args, artifactDir: ArtifactDir.resolve(args), zmx: zmx)
    let input = StagingInput.read(fd: 0)
    var staging = Staging(
        artifactDir: ArtifactDir.resolve(args), zmx: zmx,
        seenAtNanoseconds: input.listing?.instantNanoseconds ?? Clock.nowNanoseconds())
    do { staging.hosts = try Hosts.load(flag: args.value("hosts")) } catch {
        Diagnostics.error("\(error)")
        return .usage
    }
    if !args.has("no-follow") {
        staging.follow = FollowSettings(
            executable: Follower.ownExecutable(), extra: ["--zmx", zmx.display] + (args.value("hosts").map { ["--hosts", $0] } ?? []))
        staging.follow?.starting = Follower.Starting()
    }
    reaping.hosts = staging.hosts
    let out = Output.standard
    // The followers of sessions gone since the last pass first: their logs are written from
    // what they captured and the job as the last pass registered it, which staging this pass
    // rewrites without them (a step that ended and was killed between two passes kept the
    // log of the pass before, empty for a short step).
    if input.listing != nil && !args.has("no-follow") {
        var present: Set<String> = []
        for (_, record, _) in input.records { if case .job(let j) = record { for s in j.sessions { present.insert(s.name) } } }
        staging.sweepFollowers(present: present)
    }
    // A stdout that fails (its reader gone, a full disk) ends the records, not the pass:
    // the jobs are still staged, their followers started and the reaper run, as when the
    // records went out only at the end; the error then ends pici-stage as it would have.
    var outputFailed: Output.WriteError? = nil
    try staging.stageAll(input.records, jobs: jobs) { committed in
        guard outputFailed == nil else { return }
        do {
            for record in committed { try out.writeLine(record) }
            try out.flush()
        } catch let e as Output.WriteError {
            outputFailed = e
        }
    }
    // Once every record is out: their start-up no longer shares the cores with the fetches.
    staging.follow?.starting?.launch()
    if staging.follow != nil { staging.removeIdleListings() }
    // After the logs are staged and before pici-publish reads the end of the stream.
    var reaper = Reaper(options: reaping)
    reaper.run(jobs: input.records.compactMap { if case .job(let j) = $0.record { return j } else { return nil } }, listing: input.listing)
    // pici-publish goes on while the followers start.
    defer { staging.follow?.starting?.wait() }
    if let outputFailed { throw outputFailed }
    try out.end()
    let status = staging.exitStatus(malformedLines: input.malformed)
    return status == .ok && reaper.failures > 0 ? .unavailable : status
}
