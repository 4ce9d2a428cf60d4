// pici-publish: job records → one status line per finished job, exactly once; index pages,
// sentinel and rsync.
import Glibc
import PiciKit

let help = """
usage: pici-publish [--artifact-dir DIR] [--human] [--include-running] [--no-sync | --sync-later | --sync-loop | --above-running] [-pk KEY] [-ck CERT] [--sync-timeout DUR] [--site-dest DEST] [--mask-file FILE] [--view]

Reads the job records of pici-stage (and its listing record) and, under DIR/.pici/lock,
prints the terminal status line of every finished job exactly once, writes each job's
index.html and index.txt and DIR/index.html; then, with every line out, rsyncs what
changed in each job's directory to its event's artifact_dest ({name}, {job_id}, {branch}
and {commit} filled in), one rsync per destination, and with --site-dest the whole tree.
A job that vanished is published as cancelled or lost, but only when the stream ends with
a complete listing.

  --artifact-dir DIR   where artifacts and state live (default $PICI_ARTIFACT_DIR, else
                       /tmp/pici-artifacts)
  --human              text for a person (the seed's monitor output) instead of JSON
  --include-running    also print a running status for each running job, every pass
  --no-sync            do not rsync
  --sync-later         leave the rsyncs to a pici-publish --sync-loop beside the passes
  --sync-loop          read no records: rsync what changed every second, each destination
                       on its own (after a failure, not again for 10s doubling to 10m),
                       until SIGINT or SIGTERM, which end every rsync it started
  -pk KEY, --pk KEY    ssh private key for rsync
  -ck CERT, --ck CERT  ssh certificate for rsync
  --sync-timeout DUR   kill one rsync after DUR (default 5m)
  --site-dest DEST     also rsync the whole tree (front page, feed, badges, every job) to
                       DEST, laid out as in DIR, so every link works there
  --mask-file FILE     secrets to mask as *** (default: $PICI_MASK_FILE)
  --view               only look: print every job as it stands (text at a terminal or with
                       --human, else status lines), touching no file and publishing nothing
  --above-running      read no records: copy standard input to standard error, whole lines
                       above the running lines a --human --include-running pass left at the
                       terminal (erased first and drawn again below), until end of input
                       (pici-monitor sends its diagnostics through it)
  --help, --version

Exit status: 0 ok, 65 malformed input, 69 rsync failed, 73 cannot write artifacts or state
(that job's line comes on a later pass), 64 usage (or a secret under 4 bytes), 66 the
mask file cannot be read, 141 stdout is a pipe no one reads (its line stays committed),
74 stdout could not be written (a regular file is cut back to
whole lines; the line comes on a later pass).

"""

Tool.main("pici-publish", help: help, options: [
    .init("artifact-dir", value: true), .init("human"), .init("include-running"), .init("no-sync"),
    .init("pk", value: true), .init("ck", value: true), .init("sync-timeout", value: true), .init("view"),
    .init("sync-later"), .init("sync-loop"), .init("site-dest", value: true), .init("above-running"),
], masks: true) { args in
    var options = Publisher.Options(artifactDir: ArtifactDir.resolve(args))
    if args.has("above-running") { return RunningLines.printAbove(artifactDir: options.artifactDir) }
    options.human = args.has("human")
    options.includeRunning = args.has("include-running")
    options.sync = !args.has("no-sync")
    options.artifactSync = ArtifactSync(
        key: args.value("pk"), certificate: args.value("ck"),
        timeout: try args.duration("sync-timeout", default: ArtifactSync.defaultTimeout))
    options.syncInline = !args.has("sync-later")
    if let site = args.value("site-dest") {
        guard !site.isEmpty, !site.hasPrefix("-"), !site.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            Diagnostics.error("--site-dest \(SafeName.quoted(site)): empty, starts with - or holds a control character")
            return .usage
        }
        options.siteDest = site
    }
    if args.has("sync-loop") {
        return try SyncRunner.loop(artifactDir: options.artifactDir, artifactSync: options.artifactSync, site: options.siteDest)
    }
    options.fault = FileSystem.environment("PICI_FAULT").flatMap { $0.isEmpty ? nil : $0 }
    if let f = options.fault, !Publisher.faultPoints.contains(f) {
        Diagnostics.error("PICI_FAULT=\(f): not one of \(Publisher.faultPoints.joined(separator: ", "))")
        return .usage
    }

    var reader = RecordReader()
    if args.has("view") {
        var jobs: [JobRecord] = []
        while let record = reader.next() { if case .job(let j) = record { jobs.append(j) } }
        let human = options.human || Terminal.isTerminal(1)
        try Output.standard.write(View.render(jobs, human: human, colour: Terminal.colourAllowed(fd: 1), now: Clock.nowSeconds()))
        return reader.malformed == 0 ? .ok : .dataError
    }
    do {
        // Each record as it comes (a running job's pages while pici-stage still works); a
        // job's absence, and so a terminal status, means something only once the listing,
        // which ends the stream, is read.
        let publisher = Publisher(options: options)
        try publisher.begin()
        var listing: ListingRecord? = nil
        while let record = reader.next() {
            switch record {
            case .job(let j): publisher.take(j)
            case .listing(let l): listing = l
            case .session, .other: break
            }
        }
        return try publisher.end(listing: listing, malformedInput: reader.malformed > 0)
    } catch Output.WriteError.closed {
        // Unlike a filter feeding `head -1`, the last stage must say so: a monitor that went
        // on would commit statuses no one sees. What is committed stays in the outbox.
        Diagnostics.error("stdout: closed; committed lines stay in the outbox for the next pass")
        exit(ExitStatus.readerGone.rawValue)
    }
}
