import Foundation
import XCTest
@testable import PiciKit

/// A deterministic fuzz driver: generated inputs, mixing valid lines with mutated ones, fed to
/// every parser. The count is PICI_FUZZ_COUNT (default 100,000 per parser); the seed is fixed,
/// so a failure is reproducible. Parsers must never crash or hang, must report every
/// malformed line, and must still take every valid one.
final class FuzzTests: XCTestCase {
    static let count = Int(ProcessInfo.processInfo.environment["PICI_FUZZ_COUNT"] ?? "") ?? 100_000

    typealias Random = SeededRandom

    static let hostile = [
        "../etc", "/abs", "-rf", ".hidden", "a b", "a'b", "a\"b", "$(id)", "`id`", "a\nb", "<script>alert(1)</script>",
        "socket.io", "ünï", "\u{0}", "a\tb", String(repeating: "x", count: 300),
    ]

    /// Mutations that real damage produces: cuts, flipped bytes, wrong types, huge numbers,
    /// invalid UTF-8, NUL, CRLF.
    static func mutate(_ line: [UInt8], _ r: inout Random) -> [UInt8] {
        var b = line
        switch r.below(9) {
        case 0: b = Array(b.prefix(r.below(b.count + 1)))
        case 1: if !b.isEmpty { b[r.below(b.count)] = UInt8(truncatingIfNeeded: r.next()) }
        case 2: b.insert(contentsOf: [0xFF, 0xFE], at: r.below(b.count + 1))
        case 3: b.insert(0, at: r.below(b.count + 1))
        case 4: b += [0x0D]
        case 5: b.insert(contentsOf: Array("99999999999999999999999999".utf8), at: r.below(b.count + 1))
        case 6: b = Array(String(decoding: b, as: UTF8.self).replacingOccurrences(of: "\"", with: "").utf8)
        case 7: b.insert(contentsOf: Array(String(repeating: "[", count: 300 + r.below(2000)).utf8), at: 0)
        default: b.removeSubrange(0..<r.below(b.count + 1))
        }
        return b
    }

    /// A well-formed zmx list line; `oneLine` keeps out names with a newline, TAB or NUL, which
    /// no real zmx line can hold.
    static func zmxLine(_ r: inout Random, oneLine: Bool = false) -> String {
        let names = oneLine ? hostile.filter { !$0.contains("\n") && !$0.contains("\t") && !$0.contains("\u{0}") } : hostile
        let repo = r.chance(10) ? r.pick(names) : r.pick(["demo", "socket.io", "a.b.c", "x"])
        let id = String(format: "%08x", UInt32(truncatingIfNeeded: r.next()))
        let short = r.pick(["runner", "step.lint", "step.test.go", "step.ci.\(repo).\(id).runner"])
        var line = "  name=ci.\(repo).\(id).\(short)\tpid=\(r.below(99999))\tclients=\(r.below(3))\tcreated=\(1_795_000_000 + r.below(100_000))"
        line += r.chance(50) ? "\tcwd=file://host/srv/w" : "\tstart_dir=/srv/w"
        if r.chance(60) { line += "\tended=\(1_795_100_000 + r.below(1000))\texit_code=\(r.below(4))" }
        if r.chance(20) { line += "\tci=1" }
        return line
    }

    func testZmxListParserSurvivesMutations() {
        var r = Random(seed: 1)
        var valid = 0, reported = 0, blank = 0
        for _ in 0..<Self.count {
            let good = Self.zmxLine(&r)
            let bytes = r.chance(50) ? Array(good.utf8) : Self.mutate(Array(good.utf8), &r)
            do {
                if try ZmxList.session(fromLine: bytes) != nil { valid += 1 } else {
                    // Only a line with nothing in it may be passed over in silence.
                    XCTAssertTrue(bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }, "\(bytes)")
                    blank += 1
                }
            } catch {
                reported += 1
                XCTAssertFalse("\(error)".isEmpty)
            }
        }
        XCTAssertEqual(valid + reported + blank, Self.count, "every input parsed, reported or blank")
        XCTAssertGreaterThan(valid, Self.count / 2 - Self.count / 20)
        XCTAssertGreaterThan(reported, Self.count / 10)
    }

    func testRecordDecoderSurvivesMutations() {
        var r = Random(seed: 2)
        var decoded = 0, reported = 0
        let jobs = JobGrouping.jobs(from: (0..<50).compactMap { _ in try? ZmxList.session(fromLine: Array(Self.zmxLine(&r).utf8)) }, now: 1_795_200_000)
        var samples: [[UInt8]] = jobs.map { JSONSerializer.bytes($0.json) }
        samples += jobs.flatMap { $0.sessions.map { JSONSerializer.bytes($0.json) } }
        samples.append(JSONSerializer.bytes(ListingRecord(complete: true, sessions: 3, at: 1_795_200_000).json))
        samples.append(Array(#"{"type":"note","x":[1,2,{"y":null}]}"#.utf8))
        for _ in 0..<Self.count {
            let good = r.pick(samples)
            let input = r.chance(30) ? good : Self.mutate(good, &r)
            do {
                let record = try Record.decode(input)
                decoded += 1
                if input == good, case .other = record {} else if input == good {
                    // A valid record re-encodes to a line that decodes to the same record.
                    XCTAssertEqual(try Record.decode(record.lineBytes), record)
                }
            } catch {
                reported += 1
            }
        }
        XCTAssertEqual(decoded + reported, Self.count)
        XCTAssertGreaterThan(decoded, Self.count * 3 / 10 - Self.count / 50)
    }

    /// Numbers at and around the edges of every range (FieldRange) and of Int, in every number
    /// field of every record and `zmx list` line: each is refused or read inside its range, and
    /// what pici then computes from it (grouping, durations, times, the listing's instant)
    /// never traps.
    func testNumberFieldsAreRangeCheckedEverywhere() {
        var r = Random(seed: 5)
        let edges: [Int] = [
            Int.min, Int.min + 1, -9_000_000_001, Int(Int32.min) - 1, Int(Int32.min), -1, 0, 1, Int(Int32.max),
            Int(Int32.max) + 1, FieldRange.seconds.upperBound, FieldRange.seconds.upperBound + 1,
            FieldRange.nanoseconds.upperBound, FieldRange.nanoseconds.upperBound + 1, Int.max - 1, Int.max,
        ]
        func number(_ r: inout Random) -> Int { r.chance(70) ? r.pick(edges) : Int(truncatingIfNeeded: r.next()) }
        let session = #"{"type":"session","name":"ci.r.a3f2b8c1.runner","pid":P,"clients":C,"created":T,"ended":E,"exit_code":X,"status":"failed"}"#
        var refused = 0, taken = 0
        for _ in 0..<Self.count / 10 {
            var values: [String: Int] = [:]
            var text = session
            for key in ["P", "C", "T", "E", "X"] {
                let n = number(&r)
                values[key] = n
                text = text.replacingOccurrences(of: key == "T" ? #""created":T"# : key == "E" ? #""ended":E"# : key == "X" ? #""exit_code":X"# : key == "P" ? #""pid":P"# : #""clients":C"#,
                                                 with: (key == "T" ? #""created":"# : key == "E" ? #""ended":"# : key == "X" ? #""exit_code":"# : key == "P" ? #""pid":"# : #""clients":"#) + String(n))
            }
            let listing = #"{"type":"listing","complete":true,"sessions":\#(number(&r)),"at":\#(number(&r)),"at_ns":\#(number(&r))}"#
            let job = #"{"type":"job","name":"r","job_id":"a3f2b8c1","status":"failed","exit_code":\#(number(&r)),"sessions":[\#(text)]}"#
            let zmx = "  name=ci.r.a3f2b8c1.runner\tpid=\(values["P"]!)\tclients=\(values["C"]!)\tcreated=\(values["T"]!)\tended=\(values["E"]!)\texit_code=\(values["X"]!)"
            var sessions: [SessionRecord] = []
            for line in [text, job, listing] {
                guard let record = try? Record.decode(Array(line.utf8)) else { refused += 1; continue }
                taken += 1
                switch record {
                case .session(let s): sessions.append(s)
                case .job(let j):
                    XCTAssertTrue(j.exitCode.map(FieldRange.exitCode.contains) ?? true)
                    sessions += j.sessions
                case .listing(let l):
                    XCTAssertTrue(FieldRange.seconds.contains(l.at) && FieldRange.count.contains(l.sessions))
                    XCTAssertTrue(FieldRange.nanoseconds.contains(l.instantNanoseconds))
                case .other: XCTFail(line)
                }
            }
            if let s = try? ZmxList.session(fromLine: Array(zmx.utf8)) { sessions.append(s) }
            for s in sessions {
                XCTAssertTrue(FieldRange.seconds.contains(s.created) && (s.ended.map(FieldRange.seconds.contains) ?? true))
                XCTAssertTrue((s.pid.map(FieldRange.count.contains) ?? true) && (s.clients.map(FieldRange.count.contains) ?? true))
                XCTAssertTrue(s.exitCode.map(FieldRange.exitCode.contains) ?? true)
            }
            for j in JobGrouping.jobs(from: sessions, now: 1_795_200_000) {
                _ = StatusLine.bytes(for: j, timestamp: 1_795_200_000)
            }
        }
        XCTAssertGreaterThan(refused, 0)
        XCTAssertGreaterThan(taken, 0)
    }

    func testJSONParserSurvivesRandomBytes() {
        var r = Random(seed: 3)
        let alphabet = Array(#"{}[]",:0123456789.eE+-truefalsenull \"\\u00ff"#.utf8) + [0, 0xC3, 0xA9, 0xFF, 0x0A]
        for _ in 0..<Self.count {
            let n = r.below(64)
            let bytes = (0..<n).map { _ in alphabet[r.below(alphabet.count)] }
            _ = try? JSONParser.parse(bytes)
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        XCTAssertThrowsError(try JSONParser.parse(deep))
    }

    /// The whole filter, not just its parser: a file mixing good and bad lines, with line
    /// numbers checked against what was reported.
    func testPiciListReportsEveryMalformedLineByNumber() throws {
        var r = Random(seed: 4)
        var lines: [[UInt8]] = []
        var expectGood = Set<String>(), expectBad: [Int] = []
        for i in 1...5000 {
            var good = Self.zmxLine(&r, oneLine: true)
            good = good.replacingOccurrences(of: "name=ci.", with: "name=ci.n\(i).")  // unique names
            if r.chance(80) {
                lines.append(Array(good.utf8))
                expectGood.insert(String(good.split(separator: "\t")[0].dropFirst(7)))
            } else {
                lines.append(Array("  name=ci.bad\(i)\tcreated=x\(i)".utf8))
                expectBad.append(i)
            }
        }
        lines.append(Array(repeating: UInt8(ascii: "a"), count: 1 << 20))
        expectBad.append(lines.count)
        let dir = Support.tempDir(self)
        let file = dir + "/list.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data(lines.joined(separator: [0x0A]))))
        let ran = Support.sh("pici-list --all --input \(file)", env: Support.environment(zmxDir: dir))
        XCTAssertEqual(ran.status, 65)
        // A bad line with a name holds it: listed as unreachable, never read.
        let names = Support.jsonLines(ran.stdout).filter { $0["type"] as? String == "session" && $0["status"] as? String != "unreachable" }.compactMap { $0["name"] as? String }
        XCTAssertEqual(names.count, expectGood.count)
        XCTAssertTrue(Set(names) == expectGood, "missing: \(expectGood.subtracting(names).prefix(3)), unexpected: \(Set(names).subtracting(expectGood).prefix(3))")
        let reportedLines = ran.stderr.split(separator: "\n").compactMap { l -> Int? in
            guard let r = l.range(of: "line ") else { return nil }
            return Int(l[r.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertEqual(reportedLines.count, expectBad.count)
        XCTAssertTrue(reportedLines == expectBad, "first difference near \(zip(reportedLines, expectBad).first { $0 != $1 }.map { "\($0)" } ?? "the end")")
    }

    func testEventParserSurvivesMutations() {
        var r = Random(seed: 6)
        var accepted = 0, refused = 0
        for _ in 0..<Self.count {
            let name = r.chance(20) ? r.pick(Self.hostile) : r.pick(["demo", "socket.io", "my-repo"])
            var o = JSONObject()
            o.append("type", .string(r.pick(["push", "merge_request"])))
            o.append("name", .string(name))
            o.append("workspace", .string(r.chance(10) ? r.pick(["-e sh", "--rsync-path=x", "/src/\(name)"]) : "/src/repo"))
            if r.chance(50) { o.append("branch", .string("main")) }
            if r.chance(30) { o.append("artifact_dest", .string(r.pick(["host:/www", "--rsync-path=evil", "/tmp/out"]))) }
            if r.chance(10) { o.append("force_push", r.chance(50) ? .bool(true) : .string("yes")) }
            let good = JSONSerializer.bytes(.object(o))
            let input = r.chance(40) ? good : Self.mutate(good, &r)
            do {
                let event = try Event.parse(input)
                try event.check()
                // What is accepted is safe to use as a path component and a session name.
                XCTAssertNoThrow(try SafeName.checkRepository(event.name))
                accepted += 1
            } catch {
                XCTAssertFalse("\(error)".isEmpty)
                refused += 1
            }
        }
        XCTAssertEqual(accepted + refused, Self.count)
        XCTAssertGreaterThan(accepted, Self.count / 5)
    }

    func testTarHeaderParserSurvivesMutations() {
        var r = Random(seed: 5)
        // A valid ustar header to mutate, checksum and all.
        var good = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int) { for (i, b) in text.utf8.enumerated() { good[at + i] = b } }
        put("dir/file.txt", 0); put("0000644", 100); put("0001750", 108); put("0001750", 116)
        put("00000000012", 124); put("14712345670", 136); good[156] = UInt8(ascii: "0"); put("ustar", 257); put("00", 263)
        for i in 148..<156 { good[i] = 0x20 }
        let sum = good.reduce(0) { $0 + Int($1) }
        put(String(sum, radix: 8).leftPad(6) + "\0 ", 148)
        XCTAssertEqual(try TarHeader.parse(good)?.name, "dir/file.txt")
        var parsed = 0, refused = 0
        for _ in 0..<Self.count {
            var block = good
            for _ in 0..<(1 + r.below(8)) {
                switch r.below(4) {
                case 0: block[r.below(512)] = UInt8(truncatingIfNeeded: r.next())
                case 1: block[124 + r.below(12)] = r.pick([0x37, 0x80, 0xFF, 0x20, 0x00, 0x39])
                case 2: block[148 + r.below(8)] = UInt8(truncatingIfNeeded: r.next())
                default: block[156] = UInt8(truncatingIfNeeded: r.next())
                }
            }
            if r.chance(5) { block = Array(block.prefix(r.below(512))) }
            do { _ = try TarHeader.parse(block); parsed += 1 } catch { refused += 1 }
        }
        XCTAssertEqual(parsed + refused, Self.count)
        XCTAssertGreaterThan(refused, Self.count / 2)
    }
}

private extension String {
    func leftPad(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
