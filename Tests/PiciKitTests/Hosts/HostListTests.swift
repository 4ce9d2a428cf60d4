import Foundation
import XCTest

/// pici-list and pici-group over several hosts: real sshd instances on 127.0.0.1.
final class HostListTests: XCTestCase {
    func testEveryHostIsListedAndEachRecordNamesItsHost() throws {
        let hosts = try SSHHosts(self, count: 2)
        let local = Support.ZmxWorld(self)
        hosts.on(1, "zmx run ci.one.aaaaaaaa.runner -d sleep 30 >/dev/null")
        hosts.on(2, "zmx run ci.two.bbbbbbbb.runner -d true >/dev/null")
        local.sh("zmx run ci.three.cccccccc.runner -d true >/dev/null; zmx run other -d true >/dev/null")
        usleep(500_000)
        let ran = local.sh("pici-list --hosts '\(hosts.hostsFile)'")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        let records = Support.jsonLines(ran.stdout)
        let byName = Dictionary(uniqueKeysWithValues: records.compactMap { r in (r["name"] as? String).map { ($0, r) } })
        XCTAssertEqual(byName["ci.one.aaaaaaaa.runner"]?["host"] as? String, "host1")
        XCTAssertEqual(byName["ci.two.bbbbbbbb.runner"]?["host"] as? String, "host2")
        XCTAssertEqual(byName["ci.three.cccccccc.runner"]?["host"] as? String, "here")
        XCTAssertNil(byName["other"], "only ci. sessions without --all")
        let listing = try XCTUnwrap(records.last)
        XCTAssertEqual(listing["type"] as? String, "listing")
        XCTAssertEqual(listing["complete"] as? Bool, true)
        XCTAssertEqual(listing["hosts"] as? [String: Bool], ["host1": true, "host2": true, "here": true])
        XCTAssertEqual(listing["sessions"] as? Int, 3)

        let grouped = Support.jsonLines(local.sh("pici-list --hosts '\(hosts.hostsFile)' | pici-group").stdout)
        XCTAssertEqual(Set(grouped.compactMap { $0["type"] as? String == "job" ? "\($0["name"]!)@\($0["host"]!)" : nil }), ["one@host1", "two@host2", "three@here"])
    }

    func testAHostThatDoesNotAnswerIsReportedAndMarkedIncompleteWhileTheOthersFlow() throws {
        let hosts = try SSHHosts(self, count: 2, local: false)
        hosts.on(1, "zmx run ci.one.aaaaaaaa.runner -d true >/dev/null")
        hosts.on(2, "zmx run ci.two.bbbbbbbb.runner -d true >/dev/null")
        hosts.stop(2)
        let local = Support.ZmxWorld(self)
        let ran = local.sh("pici-list --timeout 10s --hosts '\(hosts.hostsFile)'")
        XCTAssertEqual(ran.status, 69, "a host that failed is EX_UNAVAILABLE")
        XCTAssertTrue(ran.stderr.contains("host host2:"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("its jobs are left as they are"), ran.stderr)
        let records = Support.jsonLines(ran.stdout)
        XCTAssertEqual(records.compactMap { $0["name"] as? String }, ["ci.one.aaaaaaaa.runner"])
        XCTAssertEqual(records.last?["complete"] as? Bool, false)
        XCTAssertEqual(records.last?["hosts"] as? [String: Bool], ["host1": true, "host2": false])

        hosts.start(2)
        let again = Support.jsonLines(local.sh("pici-list --hosts '\(hosts.hostsFile)'").stdout)
        XCTAssertEqual(again.compactMap { $0["name"] as? String }, ["ci.one.aaaaaaaa.runner", "ci.two.bbbbbbbb.runner"], "it is back")
    }

    func testHostsComeFromPICI_HOSTSAndABadFileIsAUsageError() throws {
        let local = Support.ZmxWorld(self)
        let dir = Support.tempDir(self)
        try "here -\n".write(toFile: dir + "/hosts", atomically: true, encoding: .utf8)
        local.sh("zmx run ci.r.aaaaaaaa.runner -d true >/dev/null")
        usleep(300_000)
        let ran = local.sh("PICI_HOSTS='\(dir)/hosts' pici-list")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(Support.jsonLines(ran.stdout).first?["host"] as? String, "here")
        let plain = local.sh("pici-list")
        XCTAssertFalse(plain.stdout.contains("\"host\""), "no hosts file, no host field")

        try "here -\nhere -\n".write(toFile: dir + "/bad", atomically: true, encoding: .utf8)
        let bad = local.sh("pici-list --hosts '\(dir)/bad'")
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("line 2: host here is named twice"), bad.stderr)
        XCTAssertEqual(bad.stdout, "")
    }
}
