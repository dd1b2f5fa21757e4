import Dispatch
import Foundation
import Graft

/// Ctrl-C: the first one asks the run to stop after the current batch (the last
/// checkpoint stays valid, `--resume` continues); a second one exits at once.
final class InterruptHandler {
    let flag = CancellationFlag()
    private var source: DispatchSourceSignal?

    init() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [flag] in
            // exit() here would run static destructors while the main thread is still
            // inside libtorch (heap corruption, segfaults); _exit ends the process at once.
            // Files are safe: every model and checkpoint is written atomically.
            if flag.isSet {
                fflush(nil)
                _exit(130)
            }
            flag.set()
            FileHandle.standardError.write(Data("\ninterrupt: stopping after this batch (Ctrl-C again to quit now)\n".utf8))
        }
        source.resume()
        self.source = source
    }
}
