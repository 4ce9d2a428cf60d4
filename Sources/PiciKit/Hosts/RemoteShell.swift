/// Words for the shell at the other end of ssh. ssh joins its command words with spaces and
/// hands the line to the remote user's shell, so every word pici sends is single-quoted here:
/// a step name or path can never become remote shell syntax.
public enum RemoteShell {
    /// `word` as one POSIX shell word: bare when it holds only safe characters, else in single
    /// quotes with each `'` written as `'\''`.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty && word.utf8.allSatisfy(isPlain) { return word }
        return "'" + word.replacingSingleQuotes() + "'"
    }

    /// A command line for the remote shell: the words quoted and joined, after `cd DIR &&`
    /// when the command must run in a directory.
    public static func line(_ words: [String], cwd: String? = nil, environment: [String] = []) -> String {
        var parts: [String] = []
        if let cwd { parts += ["cd", quote(cwd), "&&"] }
        if !environment.isEmpty { parts += ["env"] + environment.map(quote) }
        return (parts + words.map(quote)).joined(separator: " ")
    }

    private static func isPlain(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || "-_./=:,+@%".utf8.contains(b)
    }
}

extension String {
    fileprivate func replacingSingleQuotes() -> String {
        var out = ""
        for c in self { if c == "'" { out += "'\\''" } else { out.append(c) } }
        return out
    }
}
