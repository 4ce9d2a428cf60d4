import Foundation
import PiciKit
import XCTest

/// A host that accepts connections and answers none until told to: a listener on 127.0.0.1,
/// on a port the kernel picks. Once answering, every connection held and every new one gets
/// "ok\n" and is closed.
final class SilentListener: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var held: [Int32] = []
    private var answering = false
    private var closed = false

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0 }
        }
        guard bound, listen(s, 16) == 0 else {
            Glibc.close(s)
            throw POSIXError(.EADDRINUSE)
        }
        fd = s
        port = UInt16(bigEndian: addr.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return  // closed
            }
            lock.lock()
            if answering || closed { SilentListener.answer(c) } else { held.append(c) }
            lock.unlock()
        }
    }

    private static func answer(_ c: Int32) {
        _ = "ok\n".withCString { write(c, $0, 3) }
        Glibc.close(c)
    }

    /// From now on it answers, the connections it held first.
    func startAnswering() {
        lock.lock()
        answering = true
        for c in held { SilentListener.answer(c) }
        held = []
        lock.unlock()
    }

    func close() {
        lock.lock()
        closed = true
        for c in held { Glibc.close(c) }
        held = []
        lock.unlock()
        shutdown(fd, Int32(SHUT_RDWR))  // wakes the accept
        Glibc.close(fd)
    }
}

extension MonitorTests {
    /// One destination whose host accepts and never answers (rsync over a remote shell that
    /// connects to a `SilentListener` on 127.0.0.1 and waits for its answer) while three other
    /// jobs run and end one after another: each of their lines comes within a pass or two of
    /// its end, no pass waits for the hung sync (whose timeout is an hour), and once the host
    /// answers, the same monitor gets the dead destination its files, with no restart.
    func testAHostThatAcceptsAndNeverAnswersCostsTheOtherJobsNothing() throws {
        let w = world()
        let base = w.dir + "/.."
        let bin = base + "/fakebin", hung = base + "/hung.pids", passes = base + "/passes"
        for d in [bin, base + "/live", base + "/dead"] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let listener = try SilentListener()
        defer { listener.close() }
        // rsync's remote shell for host:path destinations: connects to the listener and waits
        // for its answer, then runs rsync's server here (the host is this machine).
        try """
            #!/usr/bin/env bash
            while [[ $1 == -* ]]; do shift; done
            shift
            exec 3<>/dev/tcp/127.0.0.1/\(listener.port) || exit 255
            echo $$ >>'\(hung)'
            read -r answer <&3 && [[ $answer == ok ]] || exit 255
            exec "$@"

            """.write(toFile: bin + "/ssh", atomically: true, encoding: .utf8)
        // zmx as the monitor calls it, noting when each pass starts (its one `zmx list`).
        try """
            #!/usr/bin/env bash
            [[ $1 == list ]] && date +%s.%N >>'\(passes)'
            exec zmx "$@"

            """.write(toFile: bin + "/zmx-timed", atomically: true, encoding: .utf8)
        for tool in ["ssh", "zmx-timed"] { XCTAssertEqual(chmod(bin + "/" + tool, 0o755), 0) }
        let dead = "00000bad", live = ["0000600d", "0000600e", "0000600f"]
        try writeEvent(w.dir, "demo", dead, dest: "deadhost:" + base + "/dead/\(dead)")
        for id in live { try writeEvent(w.dir, "demo", id, dest: base + "/live/\(id)") }

        let env = w.zmx.env.merging(["PATH": bin + ":" + (w.zmx.env["PATH"] ?? "")]) { $1 }
        let monitor = try Spawn.start(
            ["bash", "-c", "exec \"$0\" --interval 1s --sync-timeout 1h --zmx \"$4\" --artifact-dir \"$1\" >>\"$2\" 2>>\"$3\"",
             MonitorTests.monitor, w.dir, w.out, base + "/monitor.err", bin + "/zmx-timed"],
            environment: env.map { "\($0.key)=\($0.value)" }, stdout: .discard, stderr: .discard)
        var stopped = false
        defer { if !stopped { _ = kill(monitor.pid, SIGTERM); _ = monitor.wait() } }
        func hungPIDs() -> [Int32] {
            ((try? String(contentsOfFile: hung, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        }
        func line(_ id: String) -> JSONObject? {
            for l in statusLines(w) where l.contains(id) {
                if case .object(let o)? = try? JSONParser.parse(l) { return o }
            }
            return nil
        }

        startJob(w, dead, runner: "true")
        Support.waitFor("the dead destination's sync started") { !hungPIDs().isEmpty }
        Support.waitFor("the dead destination's job's line") { line(dead) != nil }
        for id in live {
            startJob(w, id, runner: "sleep 1")
            Support.waitFor("job \(id)'s line") { line(id) != nil }
            Support.waitFor("job \(id)'s files") { FileManager.default.fileExists(atPath: base + "/live/\(id)/artifacts/published.json") }
        }
        let stuck = hungPIDs()
        XCTAssertTrue(stuck.allSatisfy { kill($0, 0) == 0 }, "the dead destination's sync was waiting all along")
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/dead/\(dead)/index.html"))

        // Passes kept their pace: none waited for the hung sync (it would have waited an hour).
        let starts = ((try? String(contentsOfFile: passes, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Double($0) }
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
        let longest = gaps.max() ?? 0
        XCTAssertGreaterThan(gaps.count, 5)
        XCTAssertLessThan(longest, 10, "a pass waited for the hung sync: \(gaps)")
        // Each line came from the first pass that could see its job's end (or the next, when a
        // pass had just listed the sessions as it ended): within two pass gaps of the end.
        for id in live {
            guard let l = line(id), case .string(let printed)? = l["timestamp"], case .string(let ended)? = l["ended_at"],
                  let p = MonitorTests.unixSeconds(printed), let e = MonitorTests.unixSeconds(ended)
            else { XCTFail("job \(id): no line with timestamp and ended_at"); continue }
            XCTAssertLessThanOrEqual(Double(p - e), 2 * longest + 2, "job \(id) ended at \(ended), its line says \(printed)")
        }

        // The host answers: the same monitor gets it the dead job's files, once.
        listener.startAnswering()
        Support.waitFor("the dead destination's files") {
            FileManager.default.fileExists(atPath: base + "/dead/\(dead)/artifacts/published.json")
        }
        Support.waitFor("the dead job's marker retired") {
            ((try? FileManager.default.contentsOfDirectory(atPath: w.dir + "/.pici/sync")) ?? ["x"]).isEmpty
        }
        _ = kill(monitor.pid, SIGTERM)
        XCTAssertEqual(monitor.wait().status, 0)
        stopped = true
        for id in [dead] + live { XCTAssertEqual(statusLines(w).filter { $0.contains(id) }.count, 1, id) }
    }

    /// Unix seconds of an RFC 3339 UTC time as pici writes them (`2026-05-11T09:30:00Z`).
    static func unixSeconds(_ text: String) -> Int? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text).map { Int($0.timeIntervalSince1970) }
    }
}
