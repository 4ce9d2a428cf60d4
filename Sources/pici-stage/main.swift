// pici-stage: job records → the same records; each session's history staged as artifacts.
import PiciKit

let help = """
usage: pici-stage [--artifact-dir DIR] [--hosts FILE] [--zmx CMD] [--timeout DUR] [--jobs N] [--mask-file FILE]

Reads the records of pici-group on stdin and passes every one on unchanged and in order.
For each job it writes DIR/<name>/<job_id>/<short>.txt and <short>.html from one
`zmx history NAME --html` per session, skipping ended sessions already staged, plus
styles.css and, until the job is published, DIR/.pici/open/<name>.<job_id>.json.
A job with an unsafe name is reported and not passed on.

  --artifact-dir DIR   where artifacts go (default $PICI_ARTIFACT_DIR, else /tmp/pici-artifacts)
  --hosts FILE         the build hosts (default: $PICI_HOSTS): a session's history is
                       fetched from the host its record names
  --zmx CMD            the zmx command line (default: $PICI_ZMX, else zmx)
  --timeout DUR        kill each zmx call after DUR (default 30s)
  --jobs N             run up to N zmx history calls at once (default: online CPUs);
                       records still leave in input order
  --mask-file FILE     secrets to mask as *** (default: $PICI_MASK_FILE)
  --help, --version

Exit status, the first that applies: 64 usage (or a secret under 4 bytes), 66 no mask
file, 73 a file could not be written, 65 a
malformed line or unsafe name (reported and skipped), 69 a history could not be fetched,
else 0.

"""

Tool.main("pici-stage", help: help, options: [
    .init("artifact-dir", value: true), .init("zmx", value: true), .init("timeout", value: true),
    .init("jobs", value: true), .init("hosts", value: true),
], masks: true) { args in
    let zmx = ZmxCommand(override: args.value("zmx"), timeout: try args.duration("timeout", default: ZmxCommand.defaultTimeout))
    if let extra = args.positionals.first {
        Diagnostics.error("unexpected argument \(extra) (the artifact dir is --artifact-dir DIR)")
        return .usage
    }
    let jobs = try args.count("jobs", default: ChildPool.onlineCPUs)
    let input = StagingInput.read(fd: 0)
    var staging = Staging(
        artifactDir: ArtifactDir.resolve(args), zmx: zmx,
        seenAtNanoseconds: input.listing?.instantNanoseconds ?? Clock.nowNanoseconds())
    do { staging.hosts = try Hosts.load(flag: args.value("hosts")) } catch {
        Diagnostics.error("\(error)")
        return .usage
    }
    let out = Output.standard
    try staging.stageAll(input.records, jobs: jobs) { try out.writeLine($0) }
    return staging.exitStatus(malformedLines: input.malformed)
}
