import Foundation
import XCTest
@testable import PiciKit

/// Many repositories, one destination: `artifact_dest` templates keep each job's pages apart,
/// and `--site-dest` puts the whole tree there, laid out as here, so every link works; both
/// through the one rsync per destination and pass of SyncRunner.
final class SiteTests: XCTestCase {
    // MARK: Fixtures

    func world() -> (dir: String, env: [String: String]) {
        let base = Support.tempDir(self, "site")
        let env = Support.environment(zmxDir: base + "/zmx", extra: ["PICI_NOW": String(PublishTests.now)])
        try! FileManager.default.createDirectory(atPath: base + "/D", withIntermediateDirectories: true)
        return (base + "/D", env)
    }

    @discardableResult
    func publish(_ dir: String, _ env: [String: String], _ input: String, flags: String = "") -> Support.Ran {
        Support.sh("pici-publish --artifact-dir '\(dir)' \(flags)", env: env, input: input)
    }

    func writeEvent(_ dir: String, _ name: String, _ id: String, dest: String, branch: String = "main") throws {
        let artifacts = "\(dir)/\(name)/\(id)/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let event = #"{"type":"push","name":"\#(name)","workspace":"/srv/ws","branch":"\#(branch)","commit":"0123abc","artifact_dest":"\#(dest)"}"#
        try event.write(toFile: artifacts + "/event.json", atomically: true, encoding: .utf8)
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func list(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    // MARK: Templates

    func testTemplatesPutInTheJobsValuesAndRefuseWhatIsNoPath() throws {
        let sha = String(repeating: "0a", count: 20)
        XCTAssertEqual(try ArtifactDestination.expand("host:/srv/{name}/{branch}/{commit}/{job_id}", name: "demo", jobID: "0123abcd", branch: "feature/x", commit: sha),
                       "host:/srv/demo/feature/x/\(sha)/0123abcd")
        // Without placeholders, as it is (and the branch is not looked at).
        XCTAssertEqual(try ArtifactDestination.expand("host:/srv/www", name: "demo", jobID: "0123abcd", branch: "../..", commit: ""), "host:/srv/www")
        for branch in ["", "../../etc", "a//b", "-rf", "a b", "x;y", ".hidden", "a/.git", "é", "a/"] {
            XCTAssertThrowsError(try ArtifactDestination.expand("/d/{branch}", name: "n", jobID: "0123abcd", branch: branch, commit: sha), branch)
        }
        // A branch that is not used is not checked.
        XCTAssertEqual(try ArtifactDestination.expand("/d/{name}", name: "n", jobID: "0123abcd", branch: "../x", commit: ""), "/d/n")
        XCTAssertThrowsError(try ArtifactDestination.expand("/d/{commit}", name: "n", jobID: "0123abcd", branch: "", commit: "main"))
        XCTAssertThrowsError(try ArtifactDestination.expand("/d/{commit}", name: "n", jobID: "0123abcd", branch: "", commit: ""))
        // --mkpath only where asked (templates, the site): the seed's plain destination is
        // still refused when its parent is missing.
        XCTAssertEqual(try ArtifactSync().arguments(source: "/a", destination: "host:/srv/ci", makePath: true),
                       ["rsync", "-r", "--from0", "--files-from=-", "--mkpath", "--exclude=.pici-*", "--exclude=.*.tmp.*", "--", "/a/", "host:/srv/ci/"])
        XCTAssertFalse(try ArtifactSync().arguments(source: "/a", destination: "host:/srv/ci").contains("--mkpath"))
    }

    func testPiciRunRefusesAnEventWhoseBranchCannotFillItsDestination() {
        for (branch, commit) in [("../../etc", "0123abc"), ("", "0123abc")] {
            let event = #"{"type":"push","name":"demo","workspace":"/w","branch":"\#(branch)","commit":"\#(commit)","artifact_dest":"/srv/{branch}/{name}"}"#
            XCTAssertThrowsError(try Event.parse(Array(event.utf8))) { XCTAssertTrue("\($0)".contains("artifact_dest"), "\($0)") }
        }
        let bad = #"{"type":"push","name":"demo","workspace":"/w","commit":"zzz","artifact_dest":"/srv/{commit}"}"#
        XCTAssertThrowsError(try Event.parse(Array(bad.utf8)))
        let fine = #"{"type":"push","name":"demo","workspace":"/w","branch":"feature/x","artifact_dest":"/srv/{branch}/{name}/{job_id}"}"#
        XCTAssertNoThrow(try Event.parse(Array(fine.utf8)))
        let ran = Support.sh("pici-run --artifact-dir \"$(mktemp -d)\"", env: Support.environment(zmxDir: Support.tempDir(self, "zmx")),
                             input: #"{"type":"push","name":"demo","workspace":"/w","branch":"../up","artifact_dest":"/srv/{branch}"}"#)
        XCTAssertEqual(ran.status, 65, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("artifact_dest"), ran.stderr)
    }

    func testATemplatedDestinationGetsItsDirectoriesMade() throws {
        let (dir, env) = world()
        let dest = dir + "/../www"
        try writeEvent(dir, "demo", "abcd1234", dest: dest + "/{branch}/{name}/{job_id}", branch: "feature/x")
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob()]))
        XCTAssertEqual(ran.status, 0, ran.stderr)
        // www/feature does not exist: rsync makes it only with --mkpath.
        XCTAssertTrue(exists(dest + "/feature/x/demo/abcd1234/artifacts/published.json"))
        XCTAssertTrue(exists(dest + "/feature/x/demo/abcd1234/index.html"))
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
    }

    // MARK: The site

    func testTheSiteAndTheJobsThatShareItGoInOneRsyncAndOnlyWhenSomethingChanged() throws {
        let (dir, plain) = world()
        let (env, log) = try loggingRsync(plain, dir)
        let site = dir + "/../www"
        for (name, id) in [("alpha", "a0000001"), ("beta", "b0000001")] { try writeEvent(dir, name, id, dest: site + "/{name}/{job_id}") }
        // While they run: the site's place for each job is its own destination, so each file
        // goes once and only the job's record of it is kept.
        let running = PublishTests.stream([PublishTests.runningJob("alpha", "a0000001"), PublishTests.runningJob("beta", "b0000001")])
        XCTAssertEqual(publish(dir, env, running, flags: "--site-dest '\(site)/'").status, 0)
        var calls = rsyncCalls(log)
        XCTAssertEqual(calls.count, 1, "\(calls)")
        XCTAssertEqual(calls[0].components(separatedBy: " alpha/a0000001/index.html ").count, 2, calls[0])
        XCTAssertTrue(calls[0].contains(" index.html "), calls[0])
        XCTAssertEqual(list(dir + "/.pici/sent"), ["alpha.a0000001.json", "beta.b0000001.json"])
        XCTAssertEqual(list(dir + "/.pici/site-sent"), [])

        let input = PublishTests.stream([PublishTests.finishedJob("alpha", "a0000001"), PublishTests.finishedJob("beta", "b0000001")])
        let first = publish(dir, env, input, flags: "--site-dest '\(site)'")
        XCTAssertEqual(first.status, 0, first.stderr)
        calls = Array(rsyncCalls(log).dropFirst())
        XCTAssertEqual(calls.count, 1, "\(calls)")
        XCTAssertTrue(calls[0].hasPrefix("dest=\(site)/ "), calls[0])
        for file in ["index.html", "feed.xml", "alpha/badge.svg", "beta/badge.svg",
                     "alpha/a0000001/index.html", "beta/b0000001/artifacts/published.json"] {
            XCTAssertTrue(calls[0].contains(" \(file) "), "\(file) in \(calls[0])")
            XCTAssertTrue(exists(site + "/" + file), file)
        }
        XCTAssertFalse(calls[0].contains(".pici/"), calls[0])
        XCTAssertFalse(exists(site + "/.pici"))
        // Everything arrived: no marker, no record left, and a pass with no news sends nothing.
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
        XCTAssertEqual(list(dir + "/.pici/site-sent"), [])
        XCTAssertEqual(publish(dir, env, input, flags: "--site-dest '\(site)'").status, 0)
        XCTAssertEqual(rsyncCalls(log).count, 2)
        XCTAssertTrue(exists(site + "/styles.css"))
    }

    func testASiteAddedToAnOldTreeGetsAllOfIt() throws {
        let (dir, env) = world()
        let site = dir + "/../www"
        let input = PublishTests.stream([PublishTests.finishedJob("alpha", "a0000001"), PublishTests.finishedJob("beta", "b0000001")])
        // Published with no destination at all: nothing marked.
        XCTAssertEqual(publish(dir, env, input).status, 0)
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
        let later = publish(dir, env, input, flags: "--site-dest '\(site)'")
        XCTAssertEqual(later.status, 0, later.stderr)
        XCTAssertEqual(later.stdout, "", "nothing is published twice")
        for file in ["index.html", "feed.xml", "alpha/badge.svg", "alpha/a0000001/index.html", "beta/b0000001/artifacts/published.json"] {
            XCTAssertTrue(exists(site + "/" + file), file)
        }
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
    }

    func testAJobWithADestinationOfItsOwnGoesThereAndToTheSite() throws {
        let (dir, plain) = world()
        let (env, log) = try loggingRsync(plain, dir)
        let site = dir + "/../www", own = dir + "/../own"
        try writeEvent(dir, "demo", "abcd1234", dest: own)
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob()]), flags: "--site-dest '\(site)'")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(rsyncCalls(log).count, 2, "one per destination")
        // The seed's layout at its own destination, the tree's at the site.
        XCTAssertTrue(exists(own + "/index.html"))
        XCTAssertTrue(exists(own + "/artifacts/published.json"))
        XCTAssertTrue(exists(site + "/demo/abcd1234/artifacts/published.json"))
        XCTAssertTrue(exists(site + "/index.html"))
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
        XCTAssertEqual(list(dir + "/.pici/sent"), [])
        XCTAssertEqual(list(dir + "/.pici/site-sent"), [])
    }

    func testAFailedSiteCopyIsTriedAgainAndHoldsBackNoLine() throws {
        let (dir, env) = world()
        let blocked = dir + "/../file"
        XCTAssertTrue(FileManager.default.createFile(atPath: blocked, contents: Data("x".utf8)))
        let input = PublishTests.stream([PublishTests.finishedJob()])
        let first = publish(dir, env, input, flags: "--site-dest '\(blocked)/www'")
        XCTAssertEqual(first.status, 69, first.stderr)
        XCTAssertEqual(Support.jsonLines(first.stdout).count, 1, "the line does not wait for the site")
        XCTAssertTrue(first.stderr.contains("sync: ") && first.stderr.contains("will retry"), first.stderr)
        XCTAssertEqual(list(dir + "/.pici/sync"), ["demo.abcd1234"])
        try FileManager.default.removeItem(atPath: blocked)
        let second = publish(dir, env, input, flags: "--site-dest '\(blocked)/www'")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "")
        XCTAssertTrue(exists(blocked + "/www/demo/abcd1234/index.html"))
        XCTAssertTrue(exists(blocked + "/www/index.html"))
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
    }

    func testTheSyncLoopSendsTheSite() throws {
        let (dir, env) = world()
        let site = dir + "/../www"
        let ran = publish(dir, env, PublishTests.stream([PublishTests.finishedJob()]), flags: "--sync-later --site-dest '\(site)'")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertFalse(exists(site))
        XCTAssertEqual(list(dir + "/.pici/sync"), ["demo.abcd1234"])
        let loop = Support.sh("""
            pici-publish --sync-loop --site-dest '\(site)' --artifact-dir '\(dir)' & pid=$!
            for i in $(seq 100); do [ -e '\(site)/demo/abcd1234/artifacts/published.json' ] && [ -z "$(ls '\(dir)/.pici/sync')" ] && break; sleep 0.1; done
            kill -TERM $pid; wait $pid
            """, env: env)
        XCTAssertEqual(loop.status, 0, loop.stderr)
        XCTAssertTrue(exists(site + "/index.html"))
        XCTAssertTrue(exists(site + "/demo/badge.svg"))
        XCTAssertEqual(list(dir + "/.pici/sync"), [])
    }

    func testTheMonitorGivesTheSiteToItsSyncLoop() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self, "site")
        let art = base + "/art", site = base + "/www", ws = base + "/ws"
        try FileManager.default.createDirectory(atPath: ws, withIntermediateDirectories: true)
        try "zmx run build -d echo built\nzmx wait \"*\"\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let ran = world.sh("TMPDIR='\(base)' pici-run --wait --interval 100ms --artifact-dir '\(art)'",
                           input: #"{"type":"push","name":"demo","workspace":"\#(ws)"}"#)
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        let monitor = world.sh("""
            pici-monitor --interval 200ms --site-dest '\(site)' --artifact-dir '\(art)' > '\(base)/out' & pid=$!
            for i in $(seq 150); do
              ls '\(site)'/demo/*/artifacts/published.json >/dev/null 2>&1 && [ -e '\(site)/index.html' ] && break
              sleep 0.2
            done
            kill -TERM $pid; wait $pid
            """, timeout: 60)
        XCTAssertEqual(monitor.status, 0, monitor.stderr)
        XCTAssertTrue(exists(site + "/index.html"))
        XCTAssertTrue(exists(site + "/demo/badge.svg"))
        XCTAssertEqual(world.sh("ls '\(site)'/demo/*/artifacts/published.json").status, 0)
    }

    func testASiteDestinationThatRsyncWouldReadAsAnOptionIsRefused() {
        let (dir, env) = world()
        let ran = publish(dir, env, "", flags: "--site-dest=-e")
        XCTAssertEqual(ran.status, 64, ran.stderr)
    }

    // MARK: Two repositories, one destination (issue 13's "done when")

    /// Every relative href and src in the HTML pages and the feed under `root` that does not
    /// resolve to a file there.
    static func brokenLinks(under root: String) -> (broken: [String], checked: Int) {
        var broken: [String] = []
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        let pattern = try! NSRegularExpression(pattern: #"(?:href|src)="([^"]*)""#)
        var checked = 0
        for file in files where file.hasSuffix(".html") || file.hasSuffix(".xml") {
            let path = root + "/" + file
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let dir = (path as NSString).deletingLastPathComponent
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                var link = String(text[Range(m.range(at: 1), in: text)!]).replacingOccurrences(of: "&amp;", with: "&")
                if link.hasPrefix("#") || link.contains("://") || link.hasPrefix("mailto:") || link.hasPrefix("data:") { continue }
                if let hash = link.firstIndex(of: "#") { link = String(link[..<hash]) }
                if let q = link.firstIndex(of: "?") { link = String(link[..<q]) }
                let target = ((dir + "/" + (link.removingPercentEncoding ?? link)) as NSString).standardizingPath
                checked += 1
                if !target.hasPrefix(root) || !FileManager.default.fileExists(atPath: target) { broken.append("\(file): \(link)") }
            }
        }
        return (broken, checked)
    }

    func testTwoRepositoriesShareADestinationAndEveryLinkWorksThere() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self, "site")
        let art = base + "/art", dest = base + "/www", copy = base + "/copy"
        for dir in [base + "/tmp", base + "/alpha", base + "/beta"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try """
            #!/usr/bin/env bash
            echo 'alpha report' > "$PICO_CI_ARTIFACTS/report.txt"
            zmx run lint -d echo clean
            zmx wait "*"

            """.write(toFile: base + "/alpha/pico.sh", atomically: true, encoding: .utf8)
        try "#!/usr/bin/env bash\nzmx run test -d bash -c 'echo no; exit 1'\nzmx wait \"*\"\n"
            .write(toFile: base + "/beta/pico.sh", atomically: true, encoding: .utf8)
        var ids: [String: String] = [:]
        for name in ["alpha", "beta"] {
            let event = #"{"type":"push","name":"\#(name)","workspace":"\#(base)/\#(name)","branch":"main","commit":"\#(String(repeating: "ab", count: 20))","artifact_dest":"\#(dest)/{name}/{job_id}"}"#
            let ran = world.sh("TMPDIR='\(base)/tmp' pici-run --wait --interval 100ms --artifact-dir '\(art)'", input: event)
            XCTAssertTrue([0, 1].contains(ran.status), ran.stdout + ran.stderr)
            ids[name] = ran.stdout.split(separator: "\n").first { $0.hasPrefix("starting job ci.\(name).") }.map { String($0.suffix(8)) }
        }
        guard let alpha = ids["alpha"], let beta = ids["beta"] else { return XCTFail("\(ids)") }
        var lines: [[String: Any]] = []
        for _ in 0..<5 where lines.count < 2 {
            let pass = world.sh("pici-monitor --once --site-dest '\(dest)' --artifact-dir '\(art)'")
            XCTAssertEqual(pass.status, 0, pass.stderr)
            lines += Support.jsonLines(pass.stdout)
        }
        XCTAssertEqual(lines.count, 2)

        let sh = world.sh("cp -a '\(dest)' '\(copy)'")
        XCTAssertEqual(sh.status, 0, sh.stderr)
        // Each job in a directory of its own, nothing of the state, and the tree's own pages.
        for path in ["index.html", "styles.css", "feed.xml", "alpha/badge.svg", "beta/badge.svg",
                     "alpha/\(alpha)/index.html", "beta/\(beta)/index.html", "alpha/\(alpha)/lint.html", "beta/\(beta)/test.txt"] {
            XCTAssertTrue(exists(copy + "/" + path), path)
        }
        XCTAssertFalse(exists(copy + "/.pici"))
        XCTAssertFalse(exists(copy + "/alpha/\(alpha)/.pici-artifacts-from"))
        // The job's own file is listed and there to download.
        let page = try String(contentsOfFile: copy + "/alpha/\(alpha)/index.html", encoding: .utf8)
        XCTAssertTrue(page.contains(#"<a href="artifacts/report.txt">report.txt</a>"#), page)
        XCTAssertEqual(try String(contentsOfFile: copy + "/alpha/\(alpha)/artifacts/report.txt", encoding: .utf8), "alpha report\n")
        let top = try String(contentsOfFile: copy + "/index.html", encoding: .utf8)
        for link in ["alpha/\(alpha)/index.html", "beta/\(beta)/index.html", "feed.xml", "alpha/badge.svg"] {
            XCTAssertTrue(top.contains(#"="\#(link)""#), link)
        }
        let feed = try String(contentsOfFile: copy + "/feed.xml", encoding: .utf8)
        XCTAssertTrue(feed.contains(#"href="beta/\#(beta)/index.html""#), feed)
        let (broken, checked) = SiteTests.brokenLinks(under: copy)
        XCTAssertEqual(broken, [])
        XCTAssertGreaterThan(checked, 10)

        // A quiet pass sends nothing: a file removed there stays removed.
        try FileManager.default.removeItem(atPath: dest + "/feed.xml")
        XCTAssertEqual(world.sh("pici-monitor --once --site-dest '\(dest)' --artifact-dir '\(art)'").status, 0)
        XCTAssertFalse(exists(dest + "/feed.xml"))
    }
}
