import Foundation
import XCTest
@testable import PiciKit

/// The event pici-run reads, the job id, and the JSON it writes beside a job.
final class EventTests: XCTestCase {
    private func refusal(_ text: String, for purpose: Event.Purpose = .run, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try Event.parse(Array(text.utf8), for: purpose)
            XCTFail("accepted \(text)", file: file, line: line)
            return nil
        } catch let e as EventError {
            return e.description
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return nil
        }
    }

    /// Every refused event, with the one message pici-run prints for it.
    static let invalid: [(event: String, message: String)] = [
        (#"{"name":"demo","workspace":"/w"}"#, #"event: "type": missing (required)"#),
        (#"{"type":"push","workspace":"/w"}"#, #"event: "name": missing (required)"#),
        (#"{"type":"push","name":"demo"}"#, #"event: "workspace": missing (required)"#),
        (#"{"type":"push","name":"demo","workspace":""}"#, #"event: "workspace": empty (required)"#),
        (#"{"type":"push","name":"demo","#, "event: invalid JSON at byte 30: expected a member name"),
        (#"["push"]"#, "event: not a JSON object"),
        ("", "event: empty (give the event JSON on stdin or with --event)"),
        (#"{"type":1,"name":"demo","workspace":"/w"}"#, #"event: "type": not a string"#),
        (#"{"type":"push\u001b[2J","name":"demo","workspace":"/w"}"#, #"event: "type": contains a control character"#),
        (#"{"type":"push","name":["demo"],"workspace":"/w"}"#, #"event: "name": not a string"#),
        (#"{"type":"push","name":"demo","workspace":{"p":1}}"#, #"event: "workspace": not a string"#),
        (#"{"type":"push","name":"demo","workspace":"/w","branch":true}"#, #"event: "branch": not a string"#),
        (#"{"type":"push","name":"demo","workspace":"/w","force_push":"yes"}"#, #"event: "force_push": not true or false"#),
        (#"{"type":"push","name":"","workspace":"/w"}"#, #"event: "name": empty (required)"#),
        (#"{"type":"push","name":".","workspace":"/w"}"#, #"event: "name": is . or .."#),
        (#"{"type":"push","name":"..","workspace":"/w"}"#, #"event: "name": is . or .."#),
        (#"{"type":"push","name":"a/b","workspace":"/w"}"#, #"event: "name": contains /"#),
        (#"{"type":"push","name":"a b","workspace":"/w"}"#, #"event: "name": contains white space"#),
        (#"{"type":"push","name":"a;b","workspace":"/w"}"#, #"event: "name": contains the shell metacharacter ;"#),
        (#"{"type":"push","name":"$(x)","workspace":"/w"}"#, #"event: "name": contains the shell metacharacter $"#),
        (#"{"type":"push","name":"`x`","workspace":"/w"}"#, #"event: "name": contains the shell metacharacter `"#),
        (#"{"type":"push","name":"a\nb","workspace":"/w"}"#, #"event: "name": contains a control character"#),
        (#"{"type":"push","name":"<script>","workspace":"/w"}"#, #"event: "name": contains the shell metacharacter <"#),
        (#"{"type":"push","name":"-rf","workspace":"/w"}"#, #"event: "name": starts with -"#),
        (#"{"type":"push","name":".hidden","workspace":"/w"}"#, #"event: "name": starts with ."#),
        (#"{"type":"push","name":"a.deadbeef.runner","workspace":"/w"}"#, #"event: "name": contains a job id followed by runner or step"#),
        (#"{"type":"push","name":"demo","workspace":"-e sh"}"#, #"event: "workspace": starts with -"#),
        (#"{"type":"push","name":"demo","workspace":"/w\u0007"}"#, #"event: "workspace": contains a control character"#),
        (#"{"type":"push","name":"demo","workspace":"/w","artifact_dest":"--rsync-path=evil"}"#, #"event: "artifact_dest": starts with -"#),
        // The host goes into ssh's argument list and onto pages: only a host name's letters.
        (#"{"type":"push","name":"demo","workspace":"/w","host":"-oProxyCommand=sh"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":"b1;reboot"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":"b1 b2"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":"$(id)"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":"../etc"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":"<b>"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":"b1\n"}"#, #"event: "host": not a host name (letters, digits, . _ -)"#),
        (#"{"type":"push","name":"demo","workspace":"/w","host":7}"#, #"event: "host": not a string"#),
    ]

    func testEveryInvalidEventIsRefusedWithOneMessageNamingTheField() {
        for (event, message) in EventTests.invalid {
            XCTAssertEqual(refusal(event), message, event)
        }
    }

    func testAValidEventKeepsEveryField() throws {
        let e = try Event.parse(Array(#"{"type":"push","name":"socket.io","workspace":"git@github.com:socketio/socket.io.git","branch":"main","commit":"abc","artifact_dest":"u@h:/out","force_push":true,"extra":1}"#.utf8))
        XCTAssertEqual(e, Event(type: "push", name: "socket.io", workspace: "git@github.com:socketio/socket.io.git", branch: "main", commit: "abc", artifactDest: "u@h:/out", forcePush: true))
    }

    func testNullIsAbsentAndKeysMatchWithoutCaseAsInGo() throws {
        let e = try Event.parse(Array(#"{"Type":"push","NAME":"demo","workspace":"/w","branch":null}"#.utf8))
        XCTAssertEqual(e.type, "push")
        XCTAssertEqual(e.name, "demo")
        XCTAssertEqual(e.branch, "")
        XCTAssertEqual(refusal(#"{"type":"push","name":null,"workspace":"/w"}"#), #"event: "name": missing (required)"#)
    }

    func testCancelNeedsOnlyTheName() throws {
        XCTAssertEqual(try Event.parse(Array(#"{"name":"demo"}"#.utf8), for: .cancel).name, "demo")
        XCTAssertEqual(refusal(#"{"type":"push"}"#, for: .cancel), #"event: "name": missing (required)"#)
        XCTAssertEqual(refusal(#"{"name":"a/b"}"#, for: .cancel), #"event: "name": contains /"#)
    }

    // MARK: job id

    func testJobIDIsTheSeedsJobIDFor() throws {
        XCTAssertEqual(JobID.make(name: "demo", workspace: "git@github.com:user/demo.git", nanoseconds: 1795823657123456789), "5cd8114a")
        // And against sha256sum itself, for other inputs.
        let cases: [(String, String, Int)] = [("socket.io", "/srv/ws", 0), ("r", "pgs.sh:/w/r_1.tar", 1700000000000000001)]
        for (name, ws, ts) in cases {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", "printf %s \"$1\" | sha256sum | cut -c1-8", "bash", name + ws + String(ts)]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(JobID.make(name: name, workspace: ws, nanoseconds: ts), out.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertTrue(SafeName.isJobID(Substring(JobID.new(name: "demo", workspace: "/w"))))
    }

    // MARK: the JSON beside a job

    func testEventJSONIsWhatGoMarshals() {
        let e = Event(type: "push", name: "demo", workspace: "/w", branch: "a<b>&c", commit: "\u{2028}\t\u{7F}")
        XCTAssertEqual(e.seedJSON, #"{"type":"push","name":"demo","workspace":"/w","branch":"a\u003cb\u003e\u0026c","commit":"\u2028\t"# + "\u{7F}" + #"","artifact_dest":""}"#)
        var forced = e
        forced.forcePush = true
        XCTAssertTrue(forced.seedJSON.hasSuffix(#""artifact_dest":"","force_push":true}"#))
        XCTAssertEqual(GoJSON.quote("\u{01}\u{08}\u{0C}\"\\é"), #""\u0001\b\f\"\\é""#)
    }

    func testAttestationJSONHasGoSortedKeys() throws {
        let a = Attestation(repo: "demo", branch: "main", commit: "abc123", hostname: "build1", os: "linux", arch: "amd64", workspaceChecksum: "sha256:00ff")
        XCTAssertEqual(a.seedJSON, #"{"provenance":{"branch":"main","commit":"abc123","repo":"demo"},"runner":{"arch":"amd64","hostname":"build1","os":"linux"},"workspace_checksum":"sha256:00ff"}"#)
        let here = Attestation.forEvent(Event(type: "push", name: "demo", workspace: "/w"), workspaceChecksum: "")
        XCTAssertEqual(here.os, "linux")
        // The kernel's own word for it, as Go's os.Hostname reads it.
        let kernel = try String(contentsOfFile: "/proc/sys/kernel/hostname", encoding: .utf8)
        XCTAssertEqual(here.hostname, kernel.trimmingCharacters(in: .whitespacesAndNewlines))
        #if arch(x86_64)
        XCTAssertEqual(here.arch, "amd64")
        #elseif arch(arm64)
        XCTAssertEqual(here.arch, "arm64")
        #endif
        XCTAssertEqual(RunnerHost.goArch(machine: "aarch64"), "arm64")
        XCTAssertEqual(RunnerHost.goArch(machine: "i686"), "386")
        XCTAssertEqual(RunnerHost.goArch(machine: "armv7l"), "arm")
    }

    func testCancelledMarkerShape() throws {
        XCTAssertEqual(Cancel.markerJSON(jobID: "a3f2b8c1", cancelledAt: 1795823657, reason: .superseded),
                       #"{"job_id":"a3f2b8c1","cancelled_at":"2026-11-27T23:54:17Z","reason":"superseded"}"#)
    }

    // MARK: end to end: nothing is touched for a bad event

    func testPiciRunRefusesEachInvalidEventBeforeTouchingAnything() throws {
        let calls = Support.tempDir(self, "calls") + "/zmx.log"
        let world = Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": calls])
        let art = Support.tempDir(self, "art") + "/artifacts"
        let tmp = Support.tempDir(self, "tmp")
        for (i, (event, message)) in EventTests.invalid.enumerated() {
            // Half on stdin, half with --event.
            let ran = i % 2 == 0
                ? world.sh("TMPDIR='\(tmp)' pici-run --artifact-dir '\(art)'", input: event)
                : world.sh("TMPDIR='\(tmp)' pici-run --artifact-dir '\(art)' --event \"$(cat)\"", input: event)
            XCTAssertEqual(ran.status, 65, event)
            XCTAssertEqual(ran.stderr, "pici-run: \(message)\n", event)
            XCTAssertEqual(ran.stdout, "", event)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: art), "the artifact dir was created")
        XCTAssertFalse(FileManager.default.fileExists(atPath: calls), "zmx was called: \((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "")")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "a workspace was made")
        XCTAssertEqual(world.sh("zmx list").stdout, "")
    }

    func testCancelAndRunnerRefuseBadEventsTheSameWay() throws {
        let calls = Support.tempDir(self, "calls") + "/zmx.log"
        let world = Support.ZmxWorld(self, extra: ["ZMX_CALL_LOG": calls])
        let ran = world.sh("pici-run --cancel", input: #"{"name":"a b"}"#)
        XCTAssertEqual(ran.status, 65)
        XCTAssertEqual(ran.stderr, "pici-run: event: \"name\": contains white space\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: calls))
    }
}
