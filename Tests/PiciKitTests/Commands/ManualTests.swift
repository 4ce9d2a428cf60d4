import Foundation
import PiciKit
import XCTest

/// The manuals and the `--help` texts read the way a person reads them: the rendered SYNOPSIS,
/// the `usage:` line, the option list under it, and the flags each of them names. Every
/// command's help and page are held to each other and to what the command really takes.
enum Manual {
    /// Every command pici installs, each with its page `man/NAME.1`.
    static let commands = ["pici-list", "pici-group", "pici-stage", "pici-publish", "pici-run", "pici-status", "pici-monitor", "pici"]
    static let manDir = Support.root.appendingPathComponent("man").path

    /// The status each command gives a flag it does not take: the seed's Go flag package gave 2.
    static func usageStatus(_ command: String) -> Int32 { command == "pici" ? 2 : 64 }

    /// Every page under man/, as `NAME.SECTION`.
    static func pages() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: manDir)
            .filter { $0.hasSuffix(".1") || $0.hasSuffix(".5") || $0.hasSuffix(".7") }.sorted()
    }

    static func source(_ page: String) throws -> String {
        try String(contentsOfFile: manDir + "/" + page, encoding: .utf8)
    }

    static var haveMandoc: Bool { Support.sh("command -v mandoc", env: ProcessInfo.processInfo.environment).status == 0 }

    /// The page as `man` shows it, one line per output line, overstrike (bold, underline)
    /// removed, wide enough that no synopsis line wraps.
    static func rendered(_ page: String) -> String {
        let ran = Support.sh("mandoc -T ascii -O width=1000 '\(manDir)/\(page)'", env: ProcessInfo.processInfo.environment)
        var out = String.UnicodeScalarView()
        for u in ran.stdout.unicodeScalars {
            if u == "\u{8}" { if !out.isEmpty { out.removeLast() } } else { out.append(u) }
        }
        return String(out)
    }

    /// The lines of one section of a rendered page, trimmed, blank ones dropped.
    static func section(_ title: String, of rendered: String) -> [String] {
        var lines: [String] = []
        var inside = false
        for line in rendered.components(separatedBy: "\n") {
            if let first = line.first, !first.isWhitespace {
                inside = line == title
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inside && !trimmed.isEmpty { lines.append(trimmed) }
        }
        return lines
    }

    /// A usage or synopsis line with its spacing made canonical: `a | b` and `a|b` are one.
    static func normalized(_ line: String) -> String {
        line.split(whereSeparator: \.isWhitespace).joined(separator: " ").replacingOccurrences(of: " | ", with: "|")
    }

    /// A flag as a usage line spells it (`--input`, `-pk`) and the name of its argument.
    struct Option: Equatable {
        var spelled: String
        var value: String?
        /// `-pk` and `--pk` are one flag: the tools take either, the pages write one.
        var name: String { String(spelled.drop { $0 == "-" }) }
        /// The other spelling, one dash for two and two for one.
        var otherSpelling: String { spelled.hasPrefix("--") ? "-" + name : "--" + name }
    }

    /// The bracketed options of a usage line: `[--input FILE]`, `[--wait | --cancel | --gc]`.
    static func options(inUsage line: String) -> [Option] {
        var found: [Option] = []
        var rest = Substring(line)
        // Required flags stand outside the brackets: `--forge gitea|github --api URL`.
        let outside = rest.prefix { $0 != "[" }.split(separator: " ").map(String.init)
        for (i, word) in outside.enumerated() where word.hasPrefix("-") {
            let next = i + 1 < outside.count && !outside[i + 1].hasPrefix("-") ? outside[i + 1] : nil
            found.append(Option(spelled: word, value: next))
        }
        while let open = rest.firstIndex(of: "[") {
            guard let close = rest[open...].firstIndex(of: "]") else { break }
            for alternative in rest[rest.index(after: open)..<close].split(separator: "|") {
                let words = alternative.split(separator: " ").map(String.init)
                guard let flag = words.first, flag.hasPrefix("-") else { continue }
                found.append(Option(spelled: flag, value: words.count > 1 ? words[1] : nil))
            }
            rest = rest[rest.index(after: close)...]
        }
        return found
    }

    /// The names of every flag a text mentions: words starting with `-` then a letter.
    static func flagNames<S: StringProtocol>(_ text: S) -> Set<String> {
        var names: Set<String> = []
        for word in text.split(whereSeparator: { $0.isWhitespace || "[]|,()`'\"".contains($0) }) {
            guard word.hasPrefix("-") else { continue }
            let name = word.drop { $0 == "-" }.prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if let first = name.first, first.isLetter, word.count - name.count <= 2 { names.insert(String(name)) }
        }
        return names
    }

    /// The flags of a help text's option list: the lines `  --flag ARG   what it does`,
    /// up to the gap before the description.
    static func optionListFlags(_ help: String) -> Set<String> {
        var names: Set<String> = []
        for line in help.components(separatedBy: "\n") where line.hasPrefix("  -") {
            let body = line.drop { $0 == " " }
            let head = body.range(of: "  ").map { body[..<$0.lowerBound] } ?? body
            names.formUnion(flagNames(head))
        }
        return names
    }

    /// The flags a page documents in its lists: every `Fl` of an `.It` line, up to the first
    /// column break (`Ta`) of a table.
    static func documentedFlags(_ source: String) -> Set<String> {
        var names: Set<String> = []
        for line in source.components(separatedBy: "\n") where line.hasPrefix(".It Fl ") {
            let words = line.components(separatedBy: " Ta ")[0].split(separator: " ")
            for (i, w) in words.enumerated() where w == "Fl" && i + 1 < words.count {
                // `Fl -all` is --all, `Fl pk` is -pk: one dash more than written.
                names.insert(String(words[i + 1].drop { $0 == "-" }))
            }
        }
        return names
    }

    /// `.Sh` titles, in order.
    static func sections(_ source: String) -> [String] {
        source.components(separatedBy: "\n").filter { $0.hasPrefix(".Sh ") }.map { String($0.dropFirst(4)) }
    }

    /// `.Xr NAME SECTION` references, as `NAME.SECTION`.
    static func references(_ source: String) -> [String] {
        source.components(separatedBy: "\n").flatMap { line -> [String] in
            let words = line.split(separator: " ").map(String.init)
            return words.indices.compactMap { i in
                (words[i] == "Xr" || words[i] == ".Xr") && i + 2 < words.count ? words[i + 1] + "." + words[i + 2].prefix { $0.isNumber } : nil
            }
        }
    }
}

final class ManualTests: XCTestCase {
    private func help(_ world: Support.ZmxWorld, _ command: String) -> Support.Ran {
        world.sh("\(command) --help </dev/null")
    }

    private func usageLine(_ help: Support.Ran) -> String {
        help.stdout.components(separatedBy: "\n")[0]
    }

    func testEveryCommandHasAPageAndEverySectionOnePageACommand() throws {
        let pages = try Manual.pages()
        XCTAssertEqual(Set(pages.filter { $0.hasSuffix(".1") }), Set(Manual.commands.map { $0 + ".1" }))
        XCTAssertTrue(pages.contains("pici-records.5"), "\(pages)")
        XCTAssertTrue(pages.contains("pici.7"), "\(pages)")
    }

    func testHelpPrintsTheUsageLineFirstAndItIsTheSynopsis() throws {
        guard Manual.haveMandoc else { throw XCTSkip("mandoc is not installed") }
        let world = Support.ZmxWorld(self)
        for command in Manual.commands {
            let ran = help(world, command)
            XCTAssertEqual(ran.status, 0, command)
            XCTAssertEqual(ran.stderr, "", command)
            let usage = usageLine(ran)
            XCTAssertTrue(usage.hasPrefix("usage: \(command)"), "\(command): \(usage)")
            let synopsis = Manual.section("SYNOPSIS", of: Manual.rendered(command + ".1"))
            XCTAssertFalse(synopsis.isEmpty, "\(command).1 has no SYNOPSIS")
            XCTAssertEqual(
                Manual.normalized(String(usage.dropFirst("usage: ".count))), Manual.normalized(synopsis.first ?? ""),
                "\(command): the usage line and the first SYNOPSIS line differ")
            // The other synopsis lines (`pici-run --help | --version`) name no other flag.
            let inSynopsis = Manual.flagNames(synopsis.joined(separator: " ")).subtracting(["help", "version", "h"])
            XCTAssertEqual(inSynopsis, Set(Manual.options(inUsage: usage).map(\.name)), command)
        }
    }

    func testHelpOptionListNamesExactlyTheUsageFlags() {
        let world = Support.ZmxWorld(self)
        for command in Manual.commands where command != "pici" {
            let ran = help(world, command)
            let usage = Set(Manual.options(inUsage: usageLine(ran)).map(\.name))
            XCTAssertEqual(Manual.optionListFlags(ran.stdout), usage.union(["help", "version"]), command)
        }
        // pici's help is the seed's: a command list, and per command a FLAGS list of its own.
        let general = usageLine(help(world, "pici"))
        let usage = Set(Manual.options(inUsage: general).map(\.name))
        for command in ["runner", "monitor", "cancel", "gc"] {
            let text = world.sh("pici \(command) --help").stdout
            let flags = Manual.optionListFlags(text)
            XCTAssertFalse(flags.isEmpty, "pici \(command) --help lists no flags")
            XCTAssertTrue(flags.isSubset(of: usage), "pici \(command) --help: \(flags.subtracting(usage)) not in \(general)")
        }
    }

    func testManualListsDocumentExactlyTheUsageFlags() throws {
        let world = Support.ZmxWorld(self)
        for command in Manual.commands {
            let page = try Manual.source(command + ".1")
            let usage = Set(Manual.options(inUsage: usageLine(help(world, command))).map(\.name))
            let documented = Manual.documentedFlags(page)
            XCTAssertEqual(documented.subtracting(["help", "version"]), usage, "\(command).1's lists")
            // --help and --version are documented too: in OPTIONS or in a SYNOPSIS line of their own.
            let synopsis = page.components(separatedBy: ".Sh SYNOPSIS")[1].components(separatedBy: ".Sh ")[0]
            let mentioned = documented.union(Manual.flagNames(synopsis.replacingOccurrences(of: "Fl -", with: " --")))
            XCTAssertTrue(mentioned.isSuperset(of: ["help", "version"]), "\(command).1 does not document --help and --version")
        }
    }

    /// What the pages promise about each flag is what the command does: it is taken in either
    /// spelling, with a value when the synopsis gives it one and not without; a flag no page
    /// names is refused.
    func testEveryFlagOfTheSynopsisIsTakenInBothSpellings() {
        let world = Support.ZmxWorld(self)
        for command in Manual.commands {
            let options = Manual.options(inUsage: usageLine(help(world, command)))
            var script = ""
            for o in options {
                let value = o.value.map { v -> String in
                    switch v.lowercased() {
                    case "dur": return " 5s"
                    case "level": return " info"
                    default: return " x"
                    }
                } ?? ""
                for spelled in [o.spelled, o.otherSpelling] {
                    script += "\(command) \(spelled)\(value) --help >/dev/null 2>&1 </dev/null; echo \"\(spelled) $?\"\n"
                }
                if o.value != nil {
                    script += "\(command) \(o.spelled) >/dev/null 2>&1 </dev/null; echo \"\(o.spelled)<novalue> $?\"\n"
                }
            }
            script += "\(command) --no-such-flag >/dev/null 2>&1 </dev/null; echo \"--no-such-flag $?\"\n"
            let ran = world.sh(script)
            let usage = Manual.usageStatus(command)
            for line in ran.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                let (what, status) = (String(parts[0]), Int32(parts.last!) ?? -1)
                let expected = what.hasSuffix("<novalue>") || what == "--no-such-flag" ? usage : 0
                XCTAssertEqual(status, expected, "\(command) \(what)")
            }
            XCTAssertEqual(ran.stdout.split(separator: "\n").count, options.count * 2 + options.filter { $0.value != nil }.count + 1, command)
        }
    }

    func testVersionPrintsTheNameAndTheVersion() {
        let world = Support.ZmxWorld(self)
        for command in Manual.commands {
            let ran = world.sh("\(command) --version </dev/null")
            XCTAssertEqual(ran.status, 0, command)
            XCTAssertEqual(ran.stdout, "\(command) \(PiciVersion.string)\n", command)
            XCTAssertEqual(ran.stderr, "", command)
        }
    }

    func testManualsAreLintCleanAndHaveTheirSections() throws {
        guard Manual.haveMandoc else { throw XCTSkip("mandoc is not installed") }
        for page in try Manual.pages() {
            let lint = Support.sh("mandoc -Tlint -Wwarning '\(Manual.manDir)/\(page)'", env: ProcessInfo.processInfo.environment)
            XCTAssertEqual(lint.status, 0, page)
            XCTAssertEqual(lint.stdout + lint.stderr, "", page)

            let source = try Manual.source(page)
            let name = String(page.prefix { $0 != "." }), section = String(page.split(separator: ".").last!)
            XCTAssertTrue(source.contains("\n.Dt \(name.uppercased()) \(section)\n"), "\(page): .Dt")
            XCTAssertTrue(source.contains("\n.Nm \(name)\n"), "\(page): .Nm")
            var required = ["NAME", "DESCRIPTION", "EXAMPLES", "SEE ALSO"]
            if !["pici-records.5", "pici.7"].contains(page) { required.insert("SYNOPSIS", at: 1) }
            if section == "1" { required.append("EXIT STATUS") }
            let sections = Manual.sections(source)
            for title in required { XCTAssertTrue(sections.contains(title), "\(page) has no \(title)") }
            // In the order mdoc(7) gives them.
            let order = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO", "STANDARDS", "HISTORY"]
            let known = sections.filter(order.contains)
            XCTAssertEqual(known, known.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }, page)
        }
    }

    func testSeeAlsoNamesPagesThatExist() throws {
        let pages = try Manual.pages()
        for page in pages {
            let source = try Manual.source(page)
            let seeAlso = source.components(separatedBy: ".Sh SEE ALSO").last!.components(separatedBy: "\n.Sh ")[0]
            let refs = Manual.references(seeAlso)
            XCTAssertFalse(refs.isEmpty, "\(page): SEE ALSO names nothing")
            XCTAssertFalse(refs.contains(page), "\(page) names itself")
            for ref in Manual.references(source) where ref.hasPrefix("pici") {
                XCTAssertTrue(pages.contains(ref), "\(page) refers to \(ref), which does not exist")
            }
        }
        // pici(7) is the way in: it names every other page.
        let overview = Set(Manual.references(try Manual.source("pici.7")))
        XCTAssertEqual(Set(pages).subtracting(["pici.7"]).subtracting(overview), [], "pages pici.7 does not name")
    }
}
