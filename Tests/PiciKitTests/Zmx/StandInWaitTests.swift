import Foundation
import XCTest

/// `zmx wait` on the stand-in (Tests/Support/README.md): a task's end is reported as zmx
/// reports it, whatever the moment `wait` happens to look.
final class StandInWaitTests: XCTestCase {
    /// A task that ends while `wait` is looking at it has completed; it is not unreachable.
    /// (Looking at the shell twice took such a task for a dead one: a runner's `zmx wait '*'`
    /// then failed a job whose steps all succeeded, on a loaded machine.)
    func testATaskThatEndsWhileWaitLooksAtItHasCompleted() {
        let world = Support.ZmxWorld(self)
        let ran = world.sh("""
            zmx run quick -d sleep 0.5 >/dev/null || exit
            ZMX_STANDIN_LOOK_PAUSE=1 zmx wait quick
            """)
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        XCTAssertTrue(ran.stdout.contains("completed task=quick exit_code=0"), ran.stdout)
        XCTAssertFalse(ran.stderr.contains("unreachable"), ran.stderr)
    }

    /// A task whose shell was killed never records its end: `wait` reports it unreachable and
    /// counts it as failed with code 1.
    func testATaskWhoseShellWasKilledIsUnreachable() {
        let world = Support.ZmxWorld(self)
        let ran = world.sh("""
            zmx run doomed -d sleep 30 >/dev/null || exit
            sleep 0.5
            IFS=$'\\t' read -r pid _ < "$ZMX_DIR/doomed/state"
            kill -KILL "${pid#pid=}"
            zmx wait doomed
            """)
        XCTAssertEqual(ran.status, 1, ran.stdout + ran.stderr)
        XCTAssertTrue(ran.stderr.contains("task unreachable: doomed (ConnectionRefused)"), ran.stderr)
        XCTAssertTrue(ran.stdout.contains("failed task=doomed exit_status=1"), ran.stdout)
    }
}
