// pici-group: session records → job records. Other records pass through.
import PiciKit

let help = """
usage: pici-group

Reads session records on stdin and prints one job record per job (ci.<repo>.<job_id>.*),
ordered by started_at, name and job id. Listing records follow the jobs; records of other
types pass through unchanged as they arrive. Sessions that belong to no job are dropped.

  --help, --version

Exit status: 0 ok, 65 a malformed line (reported and skipped), 64 usage.

"""

Tool.main("pici-group", help: help, options: []) { _ in
    var reader = RecordReader()
    let out = Output.standard
    var sessions: [SessionRecord] = []
    var listings: [ListingRecord] = []
    while let record = reader.next() {
        switch record {
        case .session(let s): sessions.append(s)
        case .listing(let l): listings.append(l)
        case .job, .other: try out.writeLine { record.write(into: &$0) }
        }
    }
    for job in JobGrouping.jobs(from: sessions) { try out.writeLine { job.write(into: &$0) } }
    for l in listings { try out.writeLine { l.write(into: &$0) } }
    return reader.malformed == 0 ? .ok : .dataError
}
