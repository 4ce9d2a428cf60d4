import PiciKit
import XCTest

/// `zmx list` text to session records: every field and line shape in ZMX.md, and the session
/// names pici takes apart into repo, job id and step.
final class ZmxListTests: XCTestCase {
    private let t = "\t"

    /// One line as zmx 0.7 prints it: two spaces, then TAB-separated fields.
    private func line(_ fields: String...) -> String { "  " + fields.joined(separator: "\t") }

    private func only(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> SessionRecord? {
        let list = ZmxList.parse(text)
        XCTAssertEqual(list.malformed, [], file: file, line: line)
        XCTAssertEqual(list.sessions.count, 1, file: file, line: line)
        return list.sessions.first
    }

    // MARK: line shapes and fields

    func testFinishedSessionFromZmxMd() throws {
        let text = line("name=ci.demo.abcd1234.runner", "pid=15626", "clients=0", "created=1795823657",
                        "cwd=file://buildhost/srv/ci/work", "ended=1795823660", "exit_code=3") + "\n"
        let s = try XCTUnwrap(only(text))
        XCTAssertEqual(s, SessionRecord(
            name: "ci.demo.abcd1234.runner", repo: "demo", jobID: "abcd1234", short: "runner", pid: 15626,
            clients: 0, created: 1795823657, ended: 1795823660, exitCode: 3, status: .failed, cwd: "/srv/ci/work"))
    }

    func testArrowMarksTheCallersOwnSession() throws {
        let s = try XCTUnwrap(only("→ name=ci.demo.abcd1234.step.lint\tpid=7\tclients=1\tcreated=10\n"))
        XCTAssertEqual(s.name, "ci.demo.abcd1234.step.lint")
        XCTAssertEqual(s.short, "lint")
        XCTAssertEqual(s.clients, 1)
        XCTAssertEqual(s.status, .running)
        // Also after the two-space indent, and with no space at all.
        XCTAssertEqual(only("  → name=a\tcreated=1")?.name, "a")
        XCTAssertEqual(only("name=a\tcreated=1")?.name, "a")
    }

    func testEndedAndExitCodeDecideTheStatus() throws {
        let running = try XCTUnwrap(only(line("name=a", "pid=1", "clients=0", "created=100")))
        XCTAssertEqual(running.status, .running)
        XCTAssertNil(running.ended)
        XCTAssertNil(running.exitCode)
        XCTAssertFalse(running.hasEnded)

        let ok = try XCTUnwrap(only(line("name=a", "pid=1", "clients=0", "created=100", "ended=105", "exit_code=0")))
        XCTAssertEqual(ok.status, .success)
        XCTAssertEqual(ok.ended, 105)
        XCTAssertEqual(ok.exitCode, 0)

        let bad = try XCTUnwrap(only(line("name=a", "pid=1", "clients=0", "created=100", "ended=105", "exit_code=130")))
        XCTAssertEqual(bad.status, .failed)
        XCTAssertEqual(bad.exitCode, 130)

        // `zmx run N -d exit 3` ends the shell: an end with no code is not a success.
        let vanished = try XCTUnwrap(only(line("name=a", "pid=1", "clients=0", "created=100", "ended=105")))
        XCTAssertEqual(vanished.status, .failed)
        XCTAssertNil(vanished.exitCode)
    }

    func testCwdIsThePathOfTheFileURLDecoded() throws {
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=file://buildhost/srv/ci/work"))?.cwd, "/srv/ci/work")
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=file:///tmp/x"))?.cwd, "/tmp/x")
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=file://h/a%20b/%C3%A9%2525"))?.cwd, "/a b/é%25")
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=file://h/50%/x%zz%4"))?.cwd, "/50%/x%zz%4",
                       "a % that starts no escape is kept")
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=file://h/a%2Bb%2bc"))?.cwd, "/a+b+c")
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=file://h/x%+5y"))?.cwd, "/x%+5y", "%+5 is not hex")
        XCTAssertEqual(only(line("name=a", "created=1", "cwd=/plain/path"))?.cwd, "/plain/path")
    }

    func testOlderStartDirAndOldestSessionNameStartedIn() throws {
        let v06 = try XCTUnwrap(only(line("name=ci.r.a3f2b8c1.runner", "pid=1", "clients=0", "created=5", "start_dir=/srv/w x")))
        XCTAssertEqual(v06.cwd, "/srv/w x", "start_dir is a path, not a URL")
        XCTAssertEqual(v06.labels.count, 0)
        let v04 = try XCTUnwrap(only(line("session_name=ci.r.a3f2b8c1.step.test", "pid=2", "clients=0", "created=6", "started_in=/srv/old")))
        XCTAssertEqual(v04.name, "ci.r.a3f2b8c1.step.test")
        XCTAssertEqual(v04.repo, "r")
        XCTAssertEqual(v04.short, "test")
        XCTAssertEqual(v04.cwd, "/srv/old")
    }

    func testUnknownKeysBecomeLabelsInOrder() throws {
        let s = try XCTUnwrap(only(line("name=a", "pid=1", "clients=0", "created=1", "cwd=file://h/w",
                                        "cmd=bash -c 'x=1; echo $x'", "ended=2", "exit_code=0", "ci=1", "team=a=b", "empty=")))
        XCTAssertEqual(s.labels.map(\.key), ["cmd", "ci", "team", "empty"])
        XCTAssertEqual(s.labels.map(\.value), ["bash -c 'x=1; echo $x'", "1", "a=b", ""])
        XCTAssertEqual(s.status, .success)
    }

    func testUnreachableSessions() throws {
        let text = line("name=ci.r.a3f2b8c1.step.lint", "err=ConnectionRefused", "status=cleaning up") + "\n"
            + line("name=ci.r.a3f2b8c1.step.test", "err=Timeout", "status=unreachable") + "\n"
        let list = ZmxList.parse(text)
        XCTAssertEqual(list.malformed, [])
        XCTAssertEqual(list.sessions.count, 2)
        for s in list.sessions {
            XCTAssertEqual(s.status, .unreachable)
            XCTAssertEqual(s.created, 0, "zmx said nothing about it")
            XCTAssertNil(s.pid)
            XCTAssertNil(s.ended)
            XCTAssertNil(s.exitCode)
            XCTAssertEqual(s.repo, "r")
        }
        XCTAssertEqual(list.sessions[0].labels.map(\.key), ["err", "status"])
        XCTAssertEqual(list.sessions[0].labels.map(\.value), ["ConnectionRefused", "cleaning up"])
        XCTAssertEqual(list.sessions[1].labels.map(\.value), ["Timeout", "unreachable"])
    }

    func testBlankLinesAndTheNoSessionsNoticeCarryNothing() {
        let list = ZmxList.parse("\n\n   \n\t\n no sessions found in /run/user/1000/zmx\nno sessions found in /tmp/zmx-0\n")
        XCTAssertEqual(list.sessions, [])
        XCTAssertEqual(list.malformed, [])
        XCTAssertEqual(ZmxList.parse("").sessions, [])
        XCTAssertEqual(ZmxList.parse([UInt8]()).malformed, [])
    }

    func testSessionsComeSortedByName() {
        let text = [line("name=ci.b.a3f2b8c1.runner", "created=1"), line("name=ci.a.a3f2b8c1.runner", "created=2"),
                    line("name=Zed", "created=3"), line("name=ci.a.a3f2b8c1.step.x", "created=4")].joined(separator: "\n")
        XCTAssertEqual(ZmxList.parse(text).sessions.map(\.name),
                       ["Zed", "ci.a.a3f2b8c1.runner", "ci.a.a3f2b8c1.step.x", "ci.b.a3f2b8c1.runner"])
    }

    func testCRLFLineEnds() throws {
        let lines = [line("name=ci.r.a3f2b8c1.runner", "pid=1", "clients=0", "created=5", "ended=9", "exit_code=0"),
                     line("name=ci.r.a3f2b8c1.step.lint", "pid=2", "clients=0", "created=6", "cwd=file://h/w")]
        let text = lines.joined(separator: "\r\n") + "\r\n"
        for list in [ZmxList.parse(text), ZmxList.parse(Array(text.utf8))] {
            XCTAssertEqual(list.malformed, [])
            XCTAssertEqual(list.sessions.map(\.name), ["ci.r.a3f2b8c1.runner", "ci.r.a3f2b8c1.step.lint"])
            XCTAssertEqual(list.sessions.first?.exitCode, 0, "no \\r left on the last field")
            XCTAssertEqual(list.sessions.first?.status, .success)
            XCTAssertEqual(list.sessions.last?.cwd, "/w")
        }
    }

    // MARK: malformed lines

    func testMalformedLinesAreReportedByNumberAndTheRestStillComeOut() {
        var bytes: [UInt8] = []
        func add(_ s: String) { bytes += Array(s.utf8) + [0x0A] }
        add(line("name=ci.r.a3f2b8c1.runner", "pid=1", "clients=0", "created=5"))        // 1 good
        add(line("pid=1", "clients=0", "created=5"))                                      // 2 no name
        add(line("name=", "created=5"))                                                   // 3 empty name
        add(line("name=ci.r.a3f2b8c1.step.a", "pid=1", "clients=0", "created=yesterday")) // 4 created not a number
        add("  name=ci.r.a3f2b8c1.step.b pid=1 clients=0 created=5")                      // 5 no tabs: no created=
        add("  this is not zmx output")                                                   // 6 no tabs, no key=value
        bytes += Array("  name=ci.r.a3f2b8c1.step.c\tcreated=5\tcmd=".utf8) + [0xFF, 0xFE, 0xC3] + [0x0A] // 7 bad UTF-8: escaped, good
        bytes += Array("  name=ci.r.a3f2b8c1.step.d".utf8) + [0x00] + Array("\tcreated=5".utf8) + [0x0A]  // 8 NUL
        add(line("name=ci.r.a3f2b8c1.step.e", "created=5", "cmd=" + String(repeating: "x", count: 1 << 20))) // 9 1 MB
        add(line("name=ci.r.a3f2b8c1.step.f", "pid=1", "clients=0", "created=5", "ended=6", "exit_code=0")) // 10 good
        bytes += (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }.filter { $0 != 0x0A } + [0x0A] // 11 garbage
        add(line("name=ci.r.a3f2b8c1.step.g", "pid=x", "created=5"))                      // 12 pid not a number
        add(line("name=ci.r.a3f2b8c1.step.h", "created=5", "exit_code=-"))                // 13 exit_code not a number
        add(line("name=ci.r.a3f2b8c1.step.i", "created=5", "ended=1.5"))                  // 14 ended not whole
        add(line("name=ci.r.a3f2b8c1.step.j", "clients=", "created=5"))                   // 15 clients empty
        add(line("name=ci.r.a3f2b8c1.step.k", "created=5"))                               // 16 good, last, no newline
        bytes.removeLast()

        let list = ZmxList.parse(bytes)
        // Every bad line holds its name, or the name of the line before it that it continues
        // (2 and 3 the runner's, 8 and 9 step.c's, 11 step.f's): held, never read.
        XCTAssertEqual(list.sessions.map(\.name), ["ci.r.a3f2b8c1.step.k"])
        XCTAssertEqual(list.malformed.map(\.line), [2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 14, 15])
        XCTAssertEqual(list.held.map(\.name), [
            "ci.r.a3f2b8c1.runner", "ci.r.a3f2b8c1.step.a", "ci.r.a3f2b8c1.step.b pid=1 clients=0 created=5",
            "ci.r.a3f2b8c1.step.c", "ci.r.a3f2b8c1.step.f", "ci.r.a3f2b8c1.step.g", "ci.r.a3f2b8c1.step.h",
            "ci.r.a3f2b8c1.step.i", "ci.r.a3f2b8c1.step.j",
        ])
        XCTAssertTrue(list.held.allSatisfy { $0.status == .unreachable && $0.ended == nil && $0.labels.first?.key == "err" })
        XCTAssertEqual(list.held[0].labels.first?.value, "suspect: no name= field")
        XCTAssertTrue(list.accountsForEveryJob)
        XCTAssertFalse(ZmxList.parse("junk before any name\n" + line("name=a", "created=1")).accountsForEveryJob)
        let reason = Dictionary(uniqueKeysWithValues: list.malformed.map { ($0.line, $0.reason) })
        XCTAssertTrue(reason[2]!.contains("no name"), reason[2]!)
        XCTAssertTrue(reason[4]!.contains("created=\"yesterday\""), reason[4]!)
        XCTAssertTrue(reason[5]!.contains("created"), reason[5]!)
        XCTAssertTrue(reason[6]!.contains("not key=value"), reason[6]!)
        XCTAssertTrue(reason[8]!.contains("NUL"), reason[8]!)
        XCTAssertTrue(reason[9]!.contains("longer than"), reason[9]!)
        XCTAssertTrue(reason[12]!.contains("pid"), reason[12]!)
        XCTAssertLessThan(reason[9]!.utf8.count, 200, "a long line is not echoed back whole")
        XCTAssertEqual("\(list.malformed[0])", "line 2: \(list.malformed[0].reason)")
    }

    func testMalformedLineNumbersCountCRLFAndBlankLines() {
        let text = "\r\n" + line("name=a", "created=1") + "\r\n\r\n" + "junk\r\n" + line("name=b", "created=2") + "\r\n"
        let list = ZmxList.parse(text)
        XCTAssertEqual(list.sessions.map(\.name), ["b"])
        XCTAssertEqual(list.held.map(\.name), ["a"], "the junk continues a's line")
        XCTAssertEqual(list.malformed.map(\.line), [4])
        XCTAssertEqual(ZmxList.parse(Array(text.utf8)).malformed.map(\.line), [4])
    }

    // MARK: session names

    private func name(_ n: String) -> JobName? { JobName.parse(n) }

    /// repo, job id and short of a name, or nil when it is no job's.
    private func parts(_ n: String) -> [String]? { JobName.parse(n).map { [$0.repo, $0.jobID, $0.short] } }

    func testRunnerAndStepNames() {
        XCTAssertEqual(parts("ci.myrepo.a3f2b8c1.runner"), ["myrepo", "a3f2b8c1", "runner"])
        XCTAssertEqual(parts("ci.myrepo.a3f2b8c1.step.lint"), ["myrepo", "a3f2b8c1", "lint"])
        XCTAssertEqual(name("ci.myrepo.a3f2b8c1.step.lint")?.prefix, "ci.myrepo.a3f2b8c1.")
    }

    func testRepoNameWithDots() {
        XCTAssertEqual(parts("ci.socket.io.a3f2b8c1.runner"), ["socket.io", "a3f2b8c1", "runner"])
        XCTAssertEqual(parts("ci.socket.io.a3f2b8c1.step.test"), ["socket.io", "a3f2b8c1", "test"])
        XCTAssertEqual(name("ci.a.b.c.d.00000000.runner")?.repo, "a.b.c.d")
        // An 8-hex part inside the repo name is not the id when a later one is followed by runner.
        XCTAssertEqual(parts("ci.foo.deadbeef.bar.a3f2b8c1.runner"), ["foo.deadbeef.bar", "a3f2b8c1", "runner"])
    }

    func testStepNameWithDots() {
        XCTAssertEqual(parts("ci.r.a3f2b8c1.step.lint.go"), ["r", "a3f2b8c1", "lint.go"])
        XCTAssertEqual(parts("ci.r.a3f2b8c1.step.v1.2.3.deadbeef.step"), ["r", "a3f2b8c1", "v1.2.3.deadbeef.step"])
    }

    func testNestedRunnerName() {
        XCTAssertEqual(parts("ci.r.a3f2b8c1.step.ci.r.a3f2b8c1.runner"), ["r", "a3f2b8c1", "runner"])
        XCTAssertEqual(name("ci.socket.io.a3f2b8c1.step.ci.socket.io.a3f2b8c1.runner")?.short, "runner")
        XCTAssertEqual(JobName.cleanShort("ci.r.id.step.ci.r.id.runner", repo: "r", jobID: "id"), "runner")
        XCTAssertEqual(JobName.cleanShort("ci.r.id.runner", repo: "r", jobID: "id"), "runner")
    }

    func testRepoThatIsItselfEightHexDigits() {
        XCTAssertEqual(parts("ci.deadbeef.a3f2b8c1.runner"), ["deadbeef", "a3f2b8c1", "runner"])
        XCTAssertEqual(parts("ci.deadbeef.a3f2b8c1.step.lint"), ["deadbeef", "a3f2b8c1", "lint"])
        XCTAssertEqual(parts("ci.a3f2b8c1.deadbeef.step.x"), ["a3f2b8c1", "deadbeef", "x"])
    }

    func testAnyOtherSuffixAfterTheIdStillBelongsToTheJob() {
        XCTAssertEqual(parts("ci.r.a3f2b8c1.lint"), ["r", "a3f2b8c1", "lint"])
    }

    func testNamesThatAreNotJobs() {
        for n in ["ci.", "ci.foo", "ci.foo.runner", "ci.foo.bar.runner", "ci..a3f2b8c1.runner", "ci.r.a3f2b8c1",
                  "ci.r.a3f2b8c1.", "ci.r.A3F2B8C1.runner", "ci.r.a3f2b8c.runner", "ci.r.a3f2b8c10.runner",
                  "cix.r.a3f2b8c1.runner", "CI.r.a3f2b8c1.runner", "r.a3f2b8c1.runner", "my-shell", ""] {
            XCTAssertNil(name(n), n)
        }
    }

    func testNonJobSessionsHaveNoRepoJobOrShort() throws {
        let s = try XCTUnwrap(only(line("name=my-shell", "pid=3", "clients=1", "created=9")))
        XCTAssertNil(s.repo)
        XCTAssertNil(s.jobID)
        XCTAssertNil(s.short)
        XCTAssertFalse(s.isRunner)
    }
}

/// Issue 16 cases 1 and 3: a name that is not UTF-8 is listed, not dropped; a line zmx could
/// not have printed as it stands (a name with a TAB, a newline or another control character,
/// two lines for one name) holds its job and is never read as fields.
final class ZmxListSuspectTests: XCTestCase {
    private func line(_ fields: String...) -> String { "  " + fields.joined(separator: "\t") }

    func testANameThatIsNotUTF8IsListedEscaped() throws {
        var bytes = Array(line("name=ci.u8.abcdabcd.runner", "pid=1", "clients=0", "created=5", "ended=9", "exit_code=0").utf8) + [0x0A]
        bytes += Array("  name=ci.u8.abcdabcd.step.t".utf8) + [0xE9] + Array("st\tpid=2\tclients=0\tcreated=6\tended=8\texit_code=7\n".utf8)
        let list = ZmxList.parse(bytes)
        XCTAssertEqual(list.malformed, [])
        XCTAssertEqual(list.sessions.map(\.name), ["ci.u8.abcdabcd.runner", #"ci.u8.abcdabcd.step.t\xe9st"#])
        XCTAssertEqual(list.sessions[1].short, #"t\xe9st"#)
        let job = try XCTUnwrap(JobGrouping.jobs(from: list.sessions, now: 10).first)
        XCTAssertEqual(job.status, .failed)
        XCTAssertEqual(job.exitCode, 7)
    }

    func testFieldsForgedThroughATabInANameHoldTheJob() {
        // `zmx run $'ci.r.a3f2b8c1.step.x\tended=1\texit_code=0'` while it runs.
        let text = line("name=ci.r.a3f2b8c1.step.x", "ended=1", "exit_code=0", "pid=2", "clients=0", "created=5") + "\n"
            + line("name=ci.r.a3f2b8c1.runner", "pid=1", "clients=0", "created=5") + "\n"
        let list = ZmxList.parse(text)
        XCTAssertEqual(list.sessions.map(\.name), ["ci.r.a3f2b8c1.runner"])
        XCTAssertEqual(list.held.map(\.name), ["ci.r.a3f2b8c1.step.x"])
        XCTAssertEqual(list.malformed.first?.reason, #"session "ci.r.a3f2b8c1.step.x": pid= after exit_code=, not zmx's order (a name with a TAB?)"#)
        XCTAssertTrue(list.accountsForEveryJob)
        let job = JobGrouping.jobs(from: list.listed, now: 10)
        XCTAssertEqual(job.map(\.status), [.running])
    }

    func testLinesForgedThroughANewlineHoldBothJobs() {
        // A step whose name ends in a newline and a whole line for another job's runner.
        let text = line("name=ci.r.a3f2b8c1.step.x") + "\n"
            + line("name=ci.v.b3f2b8c1.runner", "pid=9", "clients=0", "created=5", "ended=6", "exit_code=0", "pid=2", "clients=0", "created=5") + "\n"
            + line("name=ci.v.b3f2b8c1.runner", "pid=1", "clients=0", "created=5") + "\n"
        let list = ZmxList.parse(text)
        XCTAssertEqual(list.sessions, [])
        XCTAssertEqual(list.held.map(\.name), ["ci.r.a3f2b8c1.step.x", "ci.v.b3f2b8c1.runner"])
        XCTAssertEqual(JobGrouping.jobs(from: list.listed, now: 10).map(\.status), [.running, .running])
    }

    func testTwoLinesForOneNameHoldIt() {
        let text = line("name=ci.v.b3f2b8c1.runner", "pid=1", "clients=0", "created=5", "ended=6", "exit_code=0") + "\n"
            + line("name=ci.v.b3f2b8c1.runner", "pid=1", "clients=0", "created=5") + "\n"
        let list = ZmxList.parse(text)
        XCTAssertEqual(list.sessions, [])
        XCTAssertEqual(list.held.map(\.name), ["ci.v.b3f2b8c1.runner"])
        XCTAssertEqual(list.held.first?.labels.first?.value, "suspect: 2 lines for one name")
    }

    func testANameWithAControlCharacterIsHeldNotRead() {
        let list = ZmxList.parse(line("name=ci.r.a3f2b8c1.step.\u{1B}[2J", "pid=1", "clients=0", "created=5", "ended=6", "exit_code=0"))
        XCTAssertEqual(list.sessions, [])
        XCTAssertEqual(list.held.map(\.name), ["ci.r.a3f2b8c1.step.\u{1B}[2J"])
        XCTAssertTrue(list.malformed.first?.reason.contains("control character") ?? false)
    }
}
