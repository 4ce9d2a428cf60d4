import Foundation
@testable import PiciKit
import XCTest

/// Every number from outside is range-checked where it is read (FieldRange): a number that
/// would make arithmetic overflow is a malformed line, named and skipped, never a trap.
final class NumberRangeTests: XCTestCase {
    private func decode(_ text: String) throws -> Record { try Record.decode(Array(text.utf8)) }

    private let session = #"{"type":"session","name":"ci.r.a3f2b8c1.runner","repo":"r","job_id":"a3f2b8c1","short":"runner","pid":1,"clients":0,"created":5,"ended":9,"exit_code":0,"status":"success","cwd":"/w","labels":{}}"#

    func testSessionTimesOutsideTheRangeAreRefusedByBothPaths() {
        for (from, to) in [(#""ended":9"#, #""ended":-9223372036854775808"#), (#""created":5"#, #""created":9000000001"#),
                           (#""pid":1"#, #""pid":-1"#), (#""exit_code":0"#, #""exit_code":4294967296"#)] {
            let line = session.replacingOccurrences(of: from, with: to)
            XCTAssertThrowsError(try decode(line), to) { XCTAssertTrue("\($0)".contains("out of range"), "\($0)") }
            XCTAssertThrowsError(try Record.decodeAnyShape(Array(line.utf8)))
        }
        XCTAssertNoThrow(try decode(session.replacingOccurrences(of: #""created":5"#, with: #""created":9000000000"#)))
    }

    func testListingInstantOutsideTheRangeIsRefused() {
        XCTAssertThrowsError(try decode(#"{"type":"listing","complete":true,"sessions":0,"at":9223372036854775807}"#)) {
            XCTAssertEqual("\($0)", #"listing record: "at": 9223372036854775807 is out of range (0 to 9000000000)"#)
        }
        XCTAssertThrowsError(try decode(#"{"type":"listing","complete":true,"sessions":-1,"at":5}"#))
        XCTAssertThrowsError(try decode(#"{"type":"listing","complete":true,"sessions":0,"at":5,"at_ns":-5}"#))
        XCTAssertNoThrow(try decode(#"{"type":"listing","complete":true,"sessions":0,"at":9000000000,"at_ns":9000000000999999999}"#))
    }

    func testJobExitCodeOutsideTheRangeIsRefused() {
        let job = #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"failed","exit_code":9223372036854775807,"sessions":[]}"#
        XCTAssertThrowsError(try decode(job))
    }

    func testZmxListNumbersOutsideTheRangeAreMalformedLines() {
        let line = "  name=ci.r.a3f2b8c1.runner\tpid=1\tclients=0\tcreated=5\tended=-9223372036854775808\texit_code=0"
        XCTAssertThrowsError(try ZmxList.session(fromLine: Array(line.utf8))) {
            XCTAssertEqual("\($0)", "line 0: ended=-9223372036854775808 is out of range (0 to 9000000000)")
        }
    }

    /// The traps of issue 16 case 8, through the commands: exit 65 with the line named, and the
    /// other records still flow.
    func testOverflowingNumbersNeverStopTheFilters() throws {
        let env = Support.environment(zmxDir: Support.tempDir(self, "zmx"))
        let art = Support.tempDir(self, "art")
        let good = "  name=ci.ok.a3f2b8c1.runner\tpid=1\tclients=0\tcreated=5\tended=9\texit_code=0\n"
        let bad = "  name=ci.x.b3f2b8c1.runner\tpid=1\tclients=0\tcreated=5\tended=-9223372036854775808\texit_code=0\n"
        let list = Support.sh("pici-list --input -", env: env, input: bad + good)
        XCTAssertEqual(list.status, 65, list.stderr)
        XCTAssertTrue(list.stderr.contains("line 1: ended=-9223372036854775808 is out of range"), list.stderr)
        XCTAssertTrue(list.stdout.contains("ci.ok.a3f2b8c1.runner"))

        let forged = session.replacingOccurrences(of: #""ended":9"#, with: #""ended":-9223372036854775808"#)
        let group = Support.sh("pici-group", env: env, input: forged + "\n" + session + "\n")
        XCTAssertEqual(group.status, 65, group.stderr)
        XCTAssertTrue(group.stderr.contains("pici-group: line 1: "), group.stderr)
        XCTAssertEqual(Support.jsonLines(group.stdout).count, 1)

        let listing = #"{"type":"listing","complete":true,"sessions":0,"at":9223372036854775807}"#
        for tool in ["pici-stage --artifact-dir \(art)", "pici-publish --no-sync --artifact-dir \(art)"] {
            let ran = Support.sh(tool, env: env, input: listing + "\n")
            XCTAssertEqual(ran.status, 65, "\(tool): \(ran.stderr)")
            XCTAssertTrue(ran.stderr.contains("line 1: listing record: \"at\""), ran.stderr)
        }
    }
}
