import Foundation
import PiciKit
import XCTest

/// The defects of issue 16 ("nothing published is wrong, torn or stuck"), one test each,
/// through the built commands against the stand-in zmx.
final class DefectTests: XCTestCase {
    // MARK: 9. durations that fit are taken, the rest refused

    func testDurationsThatFitAreTakenAndLongerOnesRefusedWithUsage() {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        XCTAssertEqual(world.sh("pici-list --timeout 597h").status, 0)
        let monitor = world.sh("pici-monitor --once --no-sync --artifact-dir \(art) --sync-timeout 8760h")
        XCTAssertEqual(monitor.status, 0, monitor.stderr)
        for command in [
            "pici-run --gc --gc-age 99999999999999999h --artifact-dir \(art)",
            "pici-list --timeout 2562048h",
            "pici-publish --no-sync --artifact-dir \(art) --sync-timeout 9000000001s </dev/null",
            "pici-monitor --once --artifact-dir \(art) --gc-age 99999999999999999h",
            "pici-monitor --once --artifact-dir \(art) --interval 9223372036854775807ms",
        ] {
            let ran = world.sh(command)
            XCTAssertEqual(ran.status, 64, "\(command): \(ran.stderr)")
            XCTAssertFalse(ran.stderr.contains("Fatal error"), ran.stderr)
        }
    }
}
