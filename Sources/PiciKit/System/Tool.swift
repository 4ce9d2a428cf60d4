import Glibc

/// The frame every pici executable shares: flags, `--help`, `--version`, SIGPIPE, and the
/// mapping of what went wrong to an exit status.
public enum Tool {
    /// Parses the flags, answers `--help`/`--version`, runs `body` and exits with its status.
    /// `help` is the text `--help` prints; its first line is the usage line. A tool that
    /// writes or prints job output passes `masks: true`: it takes `--mask-file FILE` (else
    /// `PICI_MASK_FILE`), loaded before `body` runs, so that a missing file (66) or a refused
    /// secret (64) stops it before it writes anything.
    public static func main(
        _ program: String, help: String, options: [Arguments.Option], masks: Bool = false,
        _ body: (Arguments) throws -> ExitStatus
    ) -> Never {
        let options = masks ? options + [Arguments.Option("mask-file", value: true)] : options
        Diagnostics.program = program
        Terminal.ignoreSIGPIPE()
        // A file-size limit on stdout is a write error (and the torn line is taken back),
        // never a kill in the middle of a line.
        signal(SIGXFSZ, SIG_IGN)
        let args: Arguments
        do {
            args = try Arguments(Array(CommandLine.arguments.dropFirst()), options: options)
        } catch {
            Diagnostics.error("\(error)")
            try? Output.writeAll(fd: 2, Array((help.split(separator: "\n").first.map(String.init) ?? "") .utf8) + [0x0A])
            exit(ExitStatus.usage.rawValue)
        }
        if args.has("help") {
            try? Output.writeAll(fd: 1, Array(help.utf8))
            exit(0)
        }
        if args.has("version") {
            try? Output.writeAll(fd: 1, Array("\(program) \(PiciVersion.string)\n".utf8))
            exit(0)
        }
        if masks {
            do {
                try Masking.load(flag: args.value("mask-file"))
                // What we start (followers) masks the same secrets.
                if let path = args.value("mask-file") { setenv("PICI_MASK_FILE", FileSystem.absolute(path), 1) }
                try Masking.loadJobMasks(
                    artifactDir: args.value("artifact-dir") ?? FileSystem.environment("PICI_ARTIFACT_DIR") ?? "/tmp/pici-artifacts")
            } catch let e as Masking.FileProblem {
                Diagnostics.error("\(e)")
                exit(ExitStatus.noInput.rawValue)
            } catch {
                Diagnostics.error("\(error)")
                exit(ExitStatus.usage.rawValue)
            }
        }
        do {
            let status = try body(args)
            try Output.standard.flush()
            exit(status.rawValue)
        } catch Output.WriteError.closed {
            // The reader went away (`| head -1`): nothing more to say to anyone.
            exit(0)
        } catch let e as Output.WriteError {
            Diagnostics.error("stdout: \(e)")
            exit(ExitStatus.ioError.rawValue)
        } catch let e as Arguments.UsageError {
            Diagnostics.error(e.message)
            exit(ExitStatus.usage.rawValue)
        } catch let e as ZmxCommand.Failure {
            Diagnostics.error("\(e)")
            exit(ExitStatus.unavailable.rawValue)
        } catch let e as FileError {
            Diagnostics.error("\(e)")
            exit(ExitStatus.cannotCreate.rawValue)
        } catch {
            Diagnostics.error("\(error)")
            exit(ExitStatus.software.rawValue)
        }
    }
}
