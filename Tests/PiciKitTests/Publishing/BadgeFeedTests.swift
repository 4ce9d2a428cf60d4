import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import PiciKit

/// badge.svg and feed.xml: valid, small, readable, written with the front page only when a
/// result changed.
final class BadgeFeedTests: XCTestCase {
    /// The elements of an XML text, or a failure when it is not well-formed.
    final class Elements: NSObject, XMLParserDelegate {
        var names: [String] = []
        var attributes: [[String: String]] = []
        var text: [String: [String]] = [:]
        private var stack: [String] = []
        private var buffer = ""
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
            names.append(name)
            attributes.append(a)
            stack.append(name)
            buffer = ""
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { buffer += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let path = stack.joined(separator: "/")
            text[path, default: []].append(buffer)
            stack.removeLast()
            buffer = ""
        }

        static func parse(_ xml: String, file: StaticString = #filePath, line: UInt = #line) -> Elements {
            let e = Elements()
            let p = XMLParser(data: Data(xml.utf8))
            p.delegate = e
            XCTAssertTrue(p.parse(), "not well-formed XML: \(p.parserError.map(String.init(describing:)) ?? "")\n\(xml)", file: file, line: line)
            return e
        }
    }

    func testBadgesAreSmallValidSVGSayingTheStateAndTheJob() {
        for (status, word) in [("success", "passing"), ("failed", "failing"), ("running", "running"), ("timeout", "timeout"), ("cancelled", "cancelled")] {
            let svg = Badge.svg(name: "my-repo", status: status, jobID: "0123abcd")
            XCTAssertLessThan(svg.utf8.count, 1024, status)
            let e = Elements.parse(svg)
            XCTAssertEqual(e.names.first, "svg")
            XCTAssertEqual(e.attributes.first?["height"], "20")
            XCTAssertEqual(e.attributes.first?["xmlns"], "http://www.w3.org/2000/svg")
            XCTAssertEqual(e.text["svg/g/text"], ["pici", "\(word) 0123abcd"], status)
            XCTAssertEqual(e.text["svg/title"], ["my-repo: \(word) 0123abcd"])
            // The right box holds its text: 7 px a character and a margin.
            let width = Int(e.attributes.first?["width"] ?? "") ?? 0
            XCTAssertGreaterThanOrEqual(width, ("pici".count + "\(word) 0123abcd".count) * 7 + 24)
        }
        XCTAssertTrue(Badge.svg(name: "<x&y>", status: "failed", jobID: "0123abcd").contains("&lt;x&amp;y&gt;"))
    }

    func testTheFeedIsAtomWithTheLastFiftyFinishedJobsNewestFirst() {
        var entries = (0..<60).map { i in
            Feed.Entry(name: "demo", jobID: String(format: "%08x", i), status: "success", exitCode: 0, duration: "\(i)s", updated: 1_795_800_000 + i)
        }
        entries.append(Feed.Entry(name: "a<b", jobID: "ffffffff", status: "failed", exitCode: 3, duration: "2m34s", updated: 1_795_900_000,
                                  failedStep: "test", failedStepExit: 3))
        let xml = Feed.xml(entries, id: "urn:pici:srv:ci", now: 1)
        let e = Elements.parse(xml)
        XCTAssertEqual(e.names.first, "feed")
        XCTAssertEqual(e.attributes.first?["xmlns"], "http://www.w3.org/2005/Atom")
        // RFC 4287: the feed's id, title, updated and author; each entry's id, title, updated.
        XCTAssertEqual(e.text["feed/id"], ["urn:pici:srv:ci"])
        XCTAssertEqual(e.text["feed/updated"], [TimeFormat.rfc3339(1_795_900_000)])
        XCTAssertEqual(e.text["feed/author/name"], ["pici"])
        XCTAssertEqual(e.text["feed/entry/title"]?.count, 50)
        XCTAssertEqual(Set(e.text["feed/entry/id"] ?? []).count, 50)
        XCTAssertEqual(e.text["feed/entry/updated"]?.count, 50)
        XCTAssertEqual(e.text["feed/entry/title"]?.first, "a<b ffffffff: failed")
        XCTAssertEqual(e.text["feed/entry/summary"]?.first, "failed (exit 3) in 2m34s; step test failed with exit 3")
        XCTAssertEqual(e.text["feed/entry/title"]?[1], "demo 0000003b: success")
        XCTAssertEqual(e.text["feed/entry/title"]?.last, "demo 0000000b: success")
        let links = zip(e.names, e.attributes).filter { $0.0 == "link" && $0.1["type"] == "text/html" }.map { $0.1["href"] ?? "" }
        XCTAssertEqual(links.first, "index.html")
        XCTAssertEqual(links[1], "a%3Cb/ffffffff/index.html")
    }

    // MARK: written by pici-publish

    func world() -> (dir: String, env: [String: String]) {
        let base = Support.tempDir(self, "badge")
        let env = Support.environment(zmxDir: base + "/zmx", extra: ["PICI_NOW": String(PublishTests.now)])
        try! FileManager.default.createDirectory(atPath: base + "/D", withIntermediateDirectories: true)
        return (base + "/D", env)
    }

    func inode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? Int) ?? -1 }

    func testPublishWritesBadgeAndFeedOnlyWhenAResultChanges() throws {
        let (dir, env) = world()
        func publish(_ jobs: [JobRecord]) -> Support.Ran {
            Support.sh("pici-publish --no-sync --artifact-dir '\(dir)'", env: env, input: PublishTests.stream(jobs))
        }
        XCTAssertEqual(publish([PublishTests.runningJob()]).status, 0)
        let badge = dir + "/demo/badge.svg", feed = dir + "/feed.xml"
        XCTAssertTrue(try String(contentsOfFile: badge, encoding: .utf8).contains(">running beef0001<"))
        XCTAssertEqual(Elements.parse(try String(contentsOfFile: feed, encoding: .utf8)).text["feed/entry/title"], nil)
        let (badge1, feed1) = (inode(badge), inode(feed))
        // Another pass with the same job running: neither is written again.
        XCTAssertEqual(publish([PublishTests.runningJob()]).status, 0)
        XCTAssertEqual(inode(badge), badge1)
        XCTAssertEqual(inode(feed), feed1)

        // A newer job finishes (failed, lint exit 2): both change.
        var failed = PublishTests.finishedJob("demo", "abcd1234")
        failed.startedAt = "2026-11-27T23:54:59Z"
        XCTAssertEqual(publish([PublishTests.runningJob(), failed]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: badge, encoding: .utf8).contains(">failing abcd1234<"))
        XCTAssertNotEqual(inode(badge), badge1)
        let e = Elements.parse(try String(contentsOfFile: feed, encoding: .utf8))
        XCTAssertEqual(e.text["feed/entry/title"], ["demo abcd1234: failed"])
        XCTAssertEqual(e.text["feed/entry/summary"], ["failed (exit 2) in 3.0s; step lint failed with exit 2"])
        let top = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        XCTAssertTrue(top.contains(#"<a href="feed.xml" type="application/atom+xml">"#))
        XCTAssertTrue(top.contains(#"<a href="demo/badge.svg">badge</a>"#))
        let (badge2, feed2) = (inode(badge), inode(feed))
        XCTAssertEqual(publish([PublishTests.runningJob()]).status, 0)
        XCTAssertEqual(inode(badge), badge2)
        XCTAssertEqual(inode(feed), feed2)
    }

    /// Two pushes in one second: their `started_at` is the same, and the badge, the front page
    /// and `--retain` take the one pici-run launched last as the newer (its `event.json`), not
    /// the one whose job id sorts last (a CI run's push test saw the older job's badge).
    func testOfTwoJobsStartedInOneSecondTheOneLaunchedLastIsTheNewest() throws {
        let dir = Support.tempDir(self)
        // "ffff0001" sorts after "0000aaaa" but was launched first.
        for (i, id) in ["ffff0001", "0000aaaa"].enumerated() {
            let artifacts = dir + "/demo/" + id + "/artifacts"
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            try #"{"status":"success","started_at":"2026-12-01T22:46:58Z","ended_at":"2026-12-01T22:46:59Z","duration":"1.0s"}"#
                .write(toFile: artifacts + "/published.json", atomically: true, encoding: .utf8)
            try "{}".write(toFile: artifacts + "/event.json", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_796_165_218.25 + Double(i) * 0.5)], ofItemAtPath: artifacts + "/event.json")
        }
        let entries = TopIndex.scan(artifactDir: dir, live: [])
        XCTAssertEqual(Badge.newest(entries)["demo"]?.jobID, "0000aaaa")
        XCTAssertEqual(entries.sorted(by: TopIndex.newestFirst).map(\.jobID), ["0000aaaa", "ffff0001"])
        // Without the events, the job id decides, as before.
        for id in ["ffff0001", "0000aaaa"] { try FileManager.default.removeItem(atPath: dir + "/demo/" + id + "/artifacts/event.json") }
        XCTAssertEqual(Badge.newest(TopIndex.scan(artifactDir: dir, live: []))["demo"]?.jobID, "ffff0001")
    }
}
