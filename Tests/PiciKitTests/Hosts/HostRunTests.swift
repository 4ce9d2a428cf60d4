import Foundation
import XCTest
@testable import PiciKit

/// pici-run and bin/pici-monitor over several hosts (pici(7), "Several hosts"): two sshd
/// instances on 127.0.0.1 and this machine, each with its own zmx sessions.
final class HostRunTests: XCTestCase {
    struct World {
        var hosts: SSHHosts
        var zmx: Support.ZmxWorld
        var dir: String
        var workspace: String
        var out: String
        /// Jobs run until this file exists.
        var go: String
        func release() { XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: nil)) }
    }

    /// A workspace whose pico.sh runs one step that prints its host and runs until `release()`
    /// (the hosts are all this machine, so one file tells them all).
    func world(count: Int = 2, local: Bool = true, slots: [Int?] = []) throws -> World {
        let hosts = try SSHHosts(self, count: count, local: local, slots: slots)
        let base = Support.tempDir(self, "hostrun")
        let ws = base + "/ws"
        try FileManager.default.createDirectory(atPath: ws, withIntermediateDirectories: true)
        try """
            set -eu
            zmx run build -d bash -c 'echo "built on ${PICI_TEST_HOST:-here} for $PICO_CI_JOB_ID"; until [ -e \(base)/go ] || [ ! -d \(base) ]; do sleep 0.1; done'
            zmx wait '*'

            """.write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let zmx = Support.ZmxWorld(self, extra: ["PICI_HOSTS": hosts.hostsFile])
        try FileManager.default.createDirectory(atPath: base + "/D/.pici", withIntermediateDirectories: true)
        return World(hosts: hosts, zmx: zmx, dir: base + "/D", workspace: ws, out: base + "/status.jsonl", go: base + "/go")
    }

    func push(_ w: World, _ name: String, branch: String = "main", host: String? = nil) -> Support.Ran {
        let event = #"{"type":"push","name":"\#(name)","workspace":"\#(w.workspace)","branch":"\#(branch)"\#(host.map { #","host":"\#($0)""# } ?? "")}"#
        return w.zmx.sh("pici-run --artifact-dir '\(w.dir)' --event '\(event)'")
    }

    @discardableResult
    func pass(_ w: World) -> Support.Ran {
        w.zmx.sh("pici-monitor --once --artifact-dir '\(w.dir)' >> '\(w.out)'")
    }

    /// The terminal status lines printed so far.
    func statuses(_ w: World) -> [[String: Any]] {
        Support.jsonLines((try? String(contentsOfFile: w.out, encoding: .utf8)) ?? "").filter {
            !["running", "queued"].contains($0["status"] as? String ?? "")
        }
    }

    func passUntil(_ w: World, published count: Int, seconds: Double = 90) {
        let deadline = Date().addingTimeInterval(seconds)
        while statuses(w).count < count && Date() < deadline {
            pass(w)
            usleep(300_000)
        }
    }

    func testJobsSpreadOverTheHostsByLoadAndArePublishedOnceWithTheirHost() throws {
        let w = try world()
        var ids: [String: String] = [:]  // job id -> host
        for i in 1...6 {
            let ran = push(w, "repo\(i)")
            XCTAssertEqual(ran.status, 0, ran.stderr + ran.stdout)
            let started = ran.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.") } ?? ""
            let words = started.split(separator: " ")
            XCTAssertEqual(words.count, 5, String(started))
            guard words.count == 5 else { continue }
            ids[String(words[2].split(separator: ".")[2])] = String(words[4])
        }
        // Each host takes two of six: the least loaded one is chosen each time.
        XCTAssertEqual(Dictionary(grouping: ids.values, by: { $0 }).mapValues(\.count), ["host1": 2, "host2": 2, "here": 2])
        pass(w)
        XCTAssertEqual(statuses(w).count, 0)
        w.release()
        passUntil(w, published: 6)
        let lines = statuses(w)
        XCTAssertEqual(lines.count, 6, "each job published once")
        for line in lines {
            let id = line["job_id"] as? String ?? ""
            XCTAssertEqual(line["status"] as? String, "success", "\(line)")
            XCTAssertEqual(line["host"] as? String, ids[id], "the status line names the job's host")
            let name = line["name"] as! String
            let job = w.dir + "/\(name)/\(id)"
            let build = (try? String(contentsOfFile: job + "/build.txt", encoding: .utf8)) ?? ""
            let host = ids[id] == "here" ? "here" : ids[id]!
            XCTAssertTrue(build.contains("built on \(host) for \(id)"), "\(job)/build.txt: \(build)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: job + "/runner.txt"))
            let event = try String(contentsOfFile: job + "/artifacts/event.json", encoding: .utf8)
            XCTAssertTrue(event.contains(#""host":"\#(ids[id]!)""#), event)
            let index = try String(contentsOfFile: job + "/index.txt", encoding: .utf8)
            XCTAssertTrue(index.contains("Host: \(ids[id]!)\n"), index)
        }
        let top = try String(contentsOfFile: w.dir + "/index.html", encoding: .utf8)
        for host in ["host1", "host2", "here"] { XCTAssertTrue(top.contains("on \(host)</span>"), "the top index shows \(host)") }
        for _ in 0..<2 { pass(w) }
        XCTAssertEqual(statuses(w).count, 6, "later passes print nothing more")
        // No workspace copy is left on a remote host once its job has been copied there and
        // the local copy was removed.
    }

    func testAnEventOrFlagNamingNoHostOfTheFileIsRefusedAndStartsNothing() throws {
        let w = try world(count: 1, local: true)
        let ran = push(w, "lost", host: "build9")
        XCTAssertEqual(ran.status, 65, ran.stderr + ran.stdout)
        XCTAssertTrue(ran.stderr.hasSuffix("pici-run: no host named \"build9\" (hosts: host1, here)\n"), ran.stderr)
        XCTAssertEqual(ran.stdout, "")
        let flag = w.zmx.sh("pici-run --artifact-dir '\(w.dir)' --host build9 --event '{\"type\":\"push\",\"name\":\"lost\",\"workspace\":\"\(w.workspace)\"}'")
        XCTAssertEqual(flag.status, 64, flag.stderr)
        XCTAssertTrue(flag.stderr.contains("--host \"build9\": no such host (hosts: host1, here)"), flag.stderr)
        XCTAssertEqual(w.hosts.on(1, "zmx list").stdout, "", "no session on host1")
        XCTAssertEqual(w.zmx.sh("zmx list").stdout, "", "no session here")
        XCTAssertFalse(FileManager.default.fileExists(atPath: w.dir + "/lost"), "no job directory")
        XCTAssertTrue(EventQueue.all(artifactDir: w.dir).isEmpty, "nothing queued")
    }

    func testAJobOnAHostThatGoesAwayIsNeitherPublishedNorLostUntilItIsBack() throws {
        let w = try world(count: 2, local: false)
        let ran = push(w, "away", host: "host2")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertTrue(ran.stdout.contains(" on host2"), ran.stdout)
        pass(w)
        w.hosts.stop(2)
        w.release()  // the job ends while its host cannot be reached
        sleep(1)
        for _ in 0..<3 {
            let r = pass(w)
            XCTAssertTrue(r.stderr.contains("host host2"), r.stderr)
        }
        XCTAssertEqual(statuses(w).count, 0, "nothing is published while its host is away, and nothing is lost")
        w.hosts.start(2)
        passUntil(w, published: 1, seconds: 30)
        let lines = statuses(w)
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines.first?["status"] as? String, "success")
        XCTAssertEqual(lines.first?["host"] as? String, "host2")
        pass(w)
        XCTAssertEqual(statuses(w).count, 1)
    }

    func testWhenEveryHostIsFullEventsWaitInTheQueueAndRunInPushOrderThroughAKilledMonitor() throws {
        let w = try world(count: 2, local: false, slots: [1, 1])
        var order: [String] = []
        for i in 1...6 {
            let ran = push(w, "q\(i)")
            XCTAssertEqual(ran.status, 0, ran.stderr)
            let line = ran.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.") || $0.hasPrefix("queued job ci.") } ?? ""
            order.append(String(line))
        }
        XCTAssertTrue(order[0].hasPrefix("starting job ci.q1."), order[0])
        XCTAssertTrue(order[1].hasPrefix("starting job ci.q2."), order[1])
        for i in 3...6 { XCTAssertTrue(order[i - 1].hasPrefix("queued job ci.q\(i)."), order[i - 1]) }
        let queued = w.zmx.sh("pici-monitor --once --include-running --artifact-dir '\(w.dir)' | tee -a '\(w.out)'")
        let shown = Support.jsonLines(queued.stdout)
        XCTAssertEqual(shown.filter { $0["status"] as? String == "queued" }.compactMap { $0["name"] as? String }, ["q3", "q4", "q5", "q6"], queued.stdout)
        XCTAssertEqual(shown.filter { $0["status"] as? String == "running" }.count, 2)
        let top = try String(contentsOfFile: w.dir + "/index.html", encoding: .utf8)
        XCTAssertTrue(top.contains("status-queued"), "the top index shows the queued jobs")
        w.release()

        // A monitor that is killed -9 part-way, then started again; meanwhile never more than
        // one running job per host. All in one script: a background monitor must not outlive
        // the shell that waits for it.
        let log = w.dir + "/../monitor.err"
        let most = w.dir + "/../most-running"
        let monitor = "pici-monitor --interval 200ms --artifact-dir '\(w.dir)' >> '\(w.out)' 2>> '\(log)'"
        let ran = w.zmx.sh("""
            \(monitor) & first=$!
            most=0
            running() { ZMX_DIR="$1" zmx list 2>/dev/null | grep '\\.runner\t' | grep -vc '\tended=' || true; }
            for ((i = 0; i < 600; i++)); do
              if ((i == 10)); then kill -9 "$first"; sleep 0.5; \(monitor) & second=$!; fi
              for d in '\(w.hosts.zmxDir(1))' '\(w.hosts.zmxDir(2))'; do
                r=$(running "$d"); ((r > most)) && most=$r
              done
              (( $(grep -c '"status":"success"' '\(w.out)') >= 6 )) && break
              sleep 0.2
            done
            echo "$most" > '\(most)'
            kill -TERM "$second"; wait "$second"
            """, timeout: 200)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let maxRunning = Int((try? String(contentsOfFile: most, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 99
        XCTAssertLessThanOrEqual(maxRunning, 1)
        let lines = statuses(w)
        XCTAssertEqual(lines.compactMap { $0["name"] as? String }.sorted(), ["q1", "q2", "q3", "q4", "q5", "q6"], "each published once")
        for line in lines where line["status"] as? String != "success" {
            // Why it failed is in its runner's log.
            let page = "\(w.dir)/\(line["name"] as? String ?? "")/\(line["job_id"] as? String ?? "")/runner.txt"
            XCTFail("\(line)\n\(page):\n\((try? String(contentsOfFile: page, encoding: .utf8)) ?? "(none)")")
        }
        let dispatched = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { $0.hasPrefix("starting job ci.q") }.map { String($0.split(separator: ".")[1]) }
        XCTAssertEqual(dispatched, ["q3", "q4", "q5", "q6"], "queued events start once each, in push order")
        XCTAssertEqual(FileManager.default.fileExists(atPath: w.dir + "/.pici/queue") ? try FileManager.default.contentsOfDirectory(atPath: w.dir + "/.pici/queue").filter { $0.hasSuffix(".json") } : [], [])
    }

    /// pici-run(1), --rerun: a host pici-run chose is chosen anew, one the event named is kept.
    func testARerunIsPlacedAsANewJobUnlessItsEventNamedTheHost() throws {
        let w = try world(count: 2, local: false, slots: [1, 1])
        let first = push(w, "placed")
        XCTAssertTrue(first.stdout.contains(" on host1\n"), first.stdout)
        let id = first.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.") }.map { String($0.split(separator: " ")[2].split(separator: ".")[2]) } ?? "none"
        let event = try String(contentsOfFile: w.dir + "/placed/\(id)/artifacts/event.json", encoding: .utf8)
        XCTAssertTrue(event.contains(#""host":"host1","host_placed":true"#), event)
        w.release()
        passUntil(w, published: 1)
        try FileManager.default.removeItem(atPath: w.go)  // jobs run until released again
        // host1's slot is taken now: a new job would go to host2, and so does the re-run.
        XCTAssertTrue(push(w, "hog", host: "host1").stdout.contains(" on host1\n"))
        let again = w.zmx.sh("pici-run --artifact-dir '\(w.dir)' --rerun placed/\(id)")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains(" on host2\n"), again.stdout)
        // An event that named its host waits for that host when it is run again.
        let named = push(w, "named", host: "host2")
        XCTAssertTrue(named.stdout.contains("host host2 is full"), named.stdout)
        let namedID = named.stdout.split(separator: "\n").first { $0.hasPrefix("queued job ci.named.") }.map { String($0.split(separator: ":")[0].suffix(8)) } ?? "none"
        let pinned = w.zmx.sh("pici-run --artifact-dir '\(w.dir)' --rerun named/\(namedID)")
        XCTAssertEqual(pinned.status, 0, pinned.stderr)
        XCTAssertTrue(pinned.stdout.contains("host host2 is full"), pinned.stdout)
        w.release()
    }

    func testANewerPushReplacesAQueuedEventWhichIsPublishedCancelledOnce() throws {
        let w = try world(count: 1, local: false, slots: [1])
        XCTAssertEqual(push(w, "busy").status, 0)
        let first = push(w, "r", branch: "main")
        XCTAssertTrue(first.stdout.contains("queued job ci.r."), first.stdout)
        let second = push(w, "r", branch: "main")
        XCTAssertTrue(second.stdout.contains("replaced by"), second.stdout)
        w.release()
        passUntil(w, published: 3)
        let lines = statuses(w)
        XCTAssertEqual(lines.count, 3, "\(lines)")
        let r = lines.filter { $0["name"] as? String == "r" }
        XCTAssertEqual(r.map { $0["status"] as? String ?? "" }.sorted(), ["cancelled", "success"])
    }
}
