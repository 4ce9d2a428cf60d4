// pici-list: zmx list → session records, then a listing record.
import PiciKit

let help = """
usage: pici-list [--all] [--input FILE] [--hosts FILE] [--zmx CMD] [--timeout DUR]

Runs `zmx list` and prints one session record per session, sorted by name, then a listing
record that marks the listing complete. Only ci. sessions unless --all.

  --all           keep every session, not only those named ci.*
  --input FILE    parse zmx list text from FILE (- for stdin) instead of running zmx
  --hosts FILE    list every host of FILE at once (default: $PICI_HOSTS); each record
                  gets "host", and the listing says per host whether it was complete
  --zmx CMD       the zmx command line (default: $PICI_ZMX, else zmx)
  --timeout DUR   kill zmx list after DUR (default 30s)
  --help, --version

A malformed line that has a name= (fields out of zmx's order, a name with a control
character) and a name with two lines are listed as one unreachable session whose err
label says why, so that their job is held until the session is gone.

Exit status: 0 ok, 65 a malformed line (reported and skipped), 69 zmx failed (on any
host; the other hosts' sessions are still printed), 66 FILE unreadable, 64 usage or a bad
hosts file.

"""

Tool.main("pici-list", help: help, options: [
    .init("all"), .init("input", value: true), .init("zmx", value: true), .init("timeout", value: true),
    .init("hosts", value: true),
]) { args in
    if args.value("input") == nil {
        let hosts: Hosts
        do { hosts = try Hosts.load(flag: args.value("hosts")) } catch {
            Diagnostics.error("\(error)")
            return .usage
        }
        if hosts.configured {
            let zmx = ZmxCommand(override: args.value("zmx"), timeout: try args.duration("timeout", default: ZmxCommand.defaultTimeout))
            return try HostListing.write(HostListing.listAll(hosts, local: zmx), all: args.has("all"), to: Output.standard)
        }
    }
    let list: ZmxList
    let at: Int
    if let input = args.value("input") {
        let bytes: [UInt8]
        do {
            bytes = input == "-" ? try FileSystem.readAll(fd: 0) : try FileSystem.readFile(input, limit: Int.max)
        } catch let e as FileError {
            // An input we cannot read is EX_NOINPUT; Tool would call a FileError 73, "cannot write".
            Diagnostics.error("\(e)")
            return .noInput
        }
        list = ZmxList.parse(bytes)
        at = Clock.nowNanoseconds()
    } else {
        let zmx = ZmxCommand(override: args.value("zmx"), timeout: try args.duration("timeout", default: ZmxCommand.defaultTimeout))
        (list, at) = try zmx.list()
    }
    for bad in list.malformed { Diagnostics.error("\(bad)") }
    let out = Output.standard
    var count = 0
    for s in list.listed where args.has("all") || s.name.hasPrefix("ci.") {
        try out.writeLine { s.write(into: &$0) }
        count += 1
    }
    // A listing with a line it cannot pin on a session is not proof that a missing job has
    // gone, nor that a finished one has no other session; a bad line with a name holds only
    // that name's job (ZmxList.held).
    let listing = ListingRecord(complete: list.accountsForEveryJob, sessions: count, at: at / 1_000_000_000, atNanoseconds: at)
    try out.writeLine { listing.write(into: &$0) }
    return list.malformed.isEmpty ? .ok : .dataError
}
