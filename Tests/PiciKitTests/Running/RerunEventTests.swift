import Foundation
import XCTest
@testable import PiciKit

/// `pici-run --rerun` runs the event an earlier job ran (pici-run(1)): every field pici-run
/// reads survives event.json and the queue, and a host pici-run chose is chosen anew.
final class RerunEventTests: XCTestCase {
    func testEventJSONKeepsEveryFieldPiciRunReads() throws {
        var event = try Event.parse(Array(#"{"type":"push","name":"demo","workspace":"/w","branch":"main","env_file":"ci/vars.env","timeout":"5m","repo":"o/demo","host":"b1"}"#.utf8))
        XCTAssertEqual(try Event.parse(Array(event.seedJSON.utf8)), event)
        event.hostPlaced = true
        let again = try Event.parse(Array(event.seedJSON.utf8))
        XCTAssertEqual(again, event)
        XCTAssertTrue(again.hostPlaced)
        // The seed's line is unchanged for an event with none of them.
        let plain = try Event.parse(Array(#"{"type":"push","name":"demo","workspace":"/w"}"#.utf8))
        XCTAssertEqual(plain.seedJSON, #"{"type":"push","name":"demo","workspace":"/w","branch":"","commit":"","artifact_dest":""}"#)
        XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"demo","workspace":"/w","host_placed":"yes"}"#.utf8)))
    }

    func testAQueuedEventKeepsItsEnvFile() throws {
        let event = try Event.parse(Array(#"{"type":"push","name":"demo","workspace":"/w","env_file":"vars.env"}"#.utf8))
        let entry = QueuedEvent(event: event, jobID: "0badc0de", queuedAtNanoseconds: 1, host: nil)
        XCTAssertEqual(try QueuedEvent(bytes: JSONSerializer.bytes(entry.json)).event.envFile, "vars.env")
    }

    func testARerunGetsTheEnvFileOfTheEventItRunsAgain() throws {
        let zmx = Support.ZmxWorld(self)
        let art = Support.artifactDir(self)
        let tmp = Support.tempDir(self, "tmp")
        let ws = Support.tempDir(self, "ws")
        try "GREETING=from-the-env-file\n".write(toFile: ws + "/vars.env", atomically: true, encoding: .utf8)
        let said = Support.tempDir(self, "said")
        try "zmx run say -d bash -c 'echo \"$GREETING\" > \(said)/$PICO_CI_JOB_ID'\nzmx wait '*'\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        func greeting(_ id: String) -> String { (try? String(contentsOfFile: said + "/" + id, encoding: .utf8)) ?? "" }
        let event = #"{"type":"push","name":"demo","workspace":"\#(ws)","env_file":"vars.env"}"#
        func run(_ flags: String, input: String = "") -> (Support.Ran, String) {
            let ran = zmx.sh("export TMPDIR='\(tmp)'\npici-run --wait --interval 100ms --artifact-dir '\(art)' \(flags)", input: input)
            let id = ran.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.") }.map { String($0.suffix(8)) } ?? "none"
            return (ran, id)
        }
        let (first, old) = run("", input: event)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertEqual(greeting(old), "from-the-env-file\n")
        let (again, new) = run("--rerun demo/\(old)")
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        XCTAssertNotEqual(new, old)
        XCTAssertEqual(greeting(new), "from-the-env-file\n", "the re-run has the event's env_file")
        let stored = try String(contentsOfFile: "\(art)/demo/\(new)/artifacts/event.json", encoding: .utf8)
        XCTAssertTrue(stored.contains(#""env_file":"vars.env""#), stored)
    }
}
