/// A storage named by a persistent id
/// `('storage', torch.<Type>Storage, key, location, elementCount[, view])`.
///
/// The bytes live elsewhere: in the zip entry `<archive>/data/<key>`, or after the pickles
/// of a legacy file. `location` (`'cpu'`, `'cuda:0'`) is ignored: everything loads to memory.
struct StorageReference {
    let key: String
    let elementType: ElementType
    let elementCount: Int
    /// Legacy storage views `(view_key, offset, count)`: the slice of the root storage `key`
    /// that the tensor sees, in elements.
    let view: (offset: Int, count: Int)?
}

/// The arguments of `torch._utils._rebuild_tensor_v2`: a strided view into a storage.
struct TensorReference {
    let storage: StorageReference
    let storageOffset: Int
    let shape: [Int]
    let strides: [Int]
}

/// The Python globals a checkpoint may name. `GLOBAL` of anything else throws
/// ``CheckpointError/forbiddenGlobal(file:global:)``; nothing is ever imported or called.
enum AllowedGlobal {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    case storageType(ElementType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _):
            guard let type = ElementType(torchStorageName: name) else { return nil }
            self = .storageType(type)
        default: return nil
        }
    }

    var name: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case let .storageType(type): "torch." + type.torchStorageName
        }
    }
}

/// An object on the unpickler's stack. Tuples, lists and dicts are indices into the
/// unpickler's ``PickleHeap``, so lists and dicts are shared as in Python (`SETITEMS` on a
/// memoized dict is seen by every later `BINGET` of it), yet no object holds another: a pickle
/// that puts a list into itself makes no reference cycle, and one nested 100,000 deep makes no
/// value whose destruction recurses 100,000 deep. ``PickleConverter`` builds the nested values.
enum PickledObject {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(Int)
    case list(Int)
    case dict(Int)
    case global(AllowedGlobal)
    case storage(StorageReference)
    case tensor(TensorReference)

    /// The Python type, for error messages (never the value, which may be huge or deep).
    var typeName: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int: "an int"
        case .float: "a float"
        case .string: "a str"
        case .bytes: "bytes"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .global: "a global"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

/// The tuples, lists and dicts of one ``Unpickler``, which ``PickledObject``s index.
struct PickleHeap {
    var tuples: [[PickledObject]] = []
    /// The tuples that hold a list or a dict, at any depth: Python cannot hash them.
    var unhashableTuples: Set<Int> = []
    var lists: [[PickledObject]] = []
    var dicts: [[(key: PickledObject, value: PickledObject)]] = []
}

/// A restricted unpickler for the pickles in PyTorch checkpoints (protocol 2, plus the
/// protocol 4 opcodes `FRAME`, `SHORT_BINUNICODE`, `MEMOIZE` and `STACK_GLOBAL`).
///
/// It builds values and never executes anything: `GLOBAL` resolves only ``AllowedGlobal``
/// names, `REDUCE` only rebuilds dicts and tensor references, and `BINPERSID` only accepts
/// storage ids, which it collects in ``storages``.
struct Unpickler {
    private let buffer: ByteBuffer
    private let end: Int
    /// Where the next pickle starts once ``load()`` returns.
    private(set) var position: Int
    /// The first reference to each storage key seen so far.
    private(set) var storages: [String: StorageReference] = [:]
    private var opcodeStart = 0
    private var stack: [PickledObject] = []
    private var marks: [Int] = []
    private var memo: [Int: PickledObject] = [:]
    /// The tuples, lists and dicts of every pickle read so far.
    private(set) var heap = PickleHeap()

    /// Reads the pickles in `range` of `buffer`.
    init(_ buffer: ByteBuffer, range: Range<Int>) {
        self.buffer = buffer
        end = range.upperBound
        position = range.lowerBound
    }

    /// Reads one pickle, through its `STOP` opcode, and returns its value.
    mutating func load() throws -> PickledObject {
        stack = []
        marks = []
        memo = [:]
        while true {
            opcodeStart = position
            let opcode = try byte()
            switch opcode {
            case 0x80: // PROTO
                let version = try byte()
                guard version <= 5 else { throw fail("pickle protocol \(version) is unknown") }
            case 0x95: _ = try take(8) // FRAME: a length hint only
            case 0x2E: return try pop() // STOP
            case 0x7D: stack.append(newDict()) // EMPTY_DICT
            case 0x5D: stack.append(newList()) // EMPTY_LIST
            case 0x29: stack.append(newTuple([])) // EMPTY_TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                let count = Int(opcode - 0x84)
                guard stack.count - (marks.last ?? 0) >= count else { throw fail("stack underflow") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                stack.append(newTuple(items))
            case 0x74: stack.append(newTuple(try popMark())) // TUPLE
            case 0x28: marks.append(stack.count) // MARK
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: try integer(UInt32.self))))) // BININT
            case 0x4B: stack.append(.int(Int(try byte()))) // BININT1
            case 0x4D: stack.append(.int(Int(try integer(UInt16.self)))) // BININT2
            case 0x8A: stack.append(.int(try long(Int(try byte())))) // LONG1
            case 0x8B: stack.append(.int(try long(try length()))) // LONG4
            case 0x47: // BINFLOAT: big-endian IEEE double
                let bits = try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x58: stack.append(.string(try utf8(try length()))) // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(Int(try byte())))) // SHORT_BINUNICODE
            case 0x54: stack.append(.string(try legacyString(try length()))) // BINSTRING
            case 0x55: stack.append(.string(try legacyString(Int(try byte())))) // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(Array(try take(try length())))) // BINBYTES
            case 0x43: stack.append(.bytes(Array(try take(Int(try byte()))))) // SHORT_BINBYTES
            case 0x88: stack.append(.bool(true)) // NEWTRUE
            case 0x89: stack.append(.bool(false)) // NEWFALSE
            case 0x4E: stack.append(.none) // NONE
            case 0x71: memo[Int(try byte())] = try top() // BINPUT
            case 0x72: memo[try length()] = try top() // LONG_BINPUT
            case 0x94: memo[memo.count] = try top() // MEMOIZE
            case 0x68: stack.append(try recall(Int(try byte()))) // BINGET
            case 0x6A: stack.append(try recall(try length())) // LONG_BINGET
            case 0x73: // SETITEM
                let value = try pop()
                let key = try pop()
                try checkHashable(key)
                heap.dicts[try dictionaryOnTop()].append((key, value))
            case 0x75: // SETITEMS
                let items = try popMark()
                guard items.count.isMultiple(of: 2) else { throw fail("SETITEMS with an odd number of items") }
                let dictionary = try dictionaryOnTop()
                for i in stride(from: 0, to: items.count, by: 2) {
                    try checkHashable(items[i])
                    heap.dicts[dictionary].append((items[i], items[i + 1]))
                }
            case 0x61: // APPEND
                let item = try pop()
                heap.lists[try listOnTop()].append(item)
            case 0x65: // APPENDS
                let items = try popMark()
                heap.lists[try listOnTop()].append(contentsOf: items)
            case 0x63: stack.append(.global(try global(module: try line(), name: try line()))) // GLOBAL
            case 0x93: // STACK_GLOBAL
                guard case let .string(name) = try pop(), case let .string(module) = try pop() else {
                    throw fail("STACK_GLOBAL needs two strings")
                }
                stack.append(.global(try global(module: module, name: name)))
            case 0x52, 0x81: // REDUCE, NEWOBJ
                let arguments = try pop()
                stack.append(try call(try pop(), arguments))
            case 0x62: // BUILD: drops the state, e.g. a state dict's `_metadata`
                _ = try pop()
                switch try top() {
                case .dict, .tensor: break
                default: throw fail("BUILD on something other than a dict or tensor")
                }
            case 0x51: stack.append(.storage(try storage(try pop()))) // BINPERSID
            default:
                throw fail("opcode 0x\(String(opcode, radix: 16)) is not supported in a weights-only checkpoint")
            }
        }
    }

    // MARK: Reading bytes

    private func fail(_ detail: String) -> CheckpointError {
        .malformed(file: buffer.name, key: nil, detail: "pickle opcode at offset \(opcodeStart): \(detail)")
    }

    private mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= end - position else {
            throw CheckpointError.truncated(
                file: buffer.name,
                detail: "the pickle opcode at offset \(opcodeStart) needs \(count) bytes at offset \(position) "
                    + "but the pickle ends at \(end)")
        }
        defer { position += count }
        return buffer.bytes(position..<(position + count))
    }

    private mutating func byte() throws -> UInt8 {
        try take(1)[0]
    }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        T(littleEndian: try take(MemoryLayout<T>.size).loadUnaligned(as: T.self))
    }

    /// A 4-byte length or memo index, which must fit an `Int32` as in Python.
    private mutating func length() throws -> Int {
        let value = try integer(UInt32.self)
        guard value <= UInt32(Int32.max) else { throw fail("length \(value) is negative") }
        return Int(value)
    }

    /// A little-endian two's-complement integer of `count` bytes.
    private mutating func long(_ count: Int) throws -> Int {
        let bytes = try take(count)
        guard count <= 8 else { throw fail("an integer of \(count) bytes does not fit 64 bits") }
        var bits = bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if count > 0, count < 8, bytes[count - 1] & 0x80 != 0 { bits |= ~0 << (8 * count) }
        return Int(Int64(bitPattern: bits))
    }

    private mutating func utf8(_ count: Int) throws -> String {
        guard let string = String(validating: try take(count), as: UTF8.self) else { throw fail("invalid UTF-8") }
        return string
    }

    /// A Python 2 `str`: UTF-8 when valid, else Latin-1, as `torch.load` decodes it.
    private mutating func legacyString(_ count: Int) throws -> String {
        let bytes = try take(count)
        return String(validating: bytes, as: UTF8.self)
            ?? String(String.UnicodeScalarView(bytes.map(Unicode.Scalar.init)))
    }

    /// A newline-terminated UTF-8 line, without the newline.
    private mutating func line() throws -> String {
        let start = position
        while try byte() != UInt8(ascii: "\n") {}
        guard let string = String(validating: buffer.bytes(start..<(position - 1)), as: UTF8.self) else {
            throw fail("invalid UTF-8")
        }
        return string
    }

    // MARK: The stack

    private mutating func pop() throws -> PickledObject {
        guard stack.count > (marks.last ?? 0), let object = stack.popLast() else { throw fail("stack underflow") }
        return object
    }

    private func top() throws -> PickledObject {
        guard stack.count > (marks.last ?? 0), let object = stack.last else { throw fail("stack underflow") }
        return object
    }

    /// Removes and returns the objects above the last `MARK`.
    private mutating func popMark() throws -> [PickledObject] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func recall(_ index: Int) throws -> PickledObject {
        guard let object = memo[index] else { throw fail("memo entry \(index) was never stored") }
        return object
    }

    /// The index in ``heap`` of the dict on top of the stack.
    private func dictionaryOnTop() throws -> Int {
        guard case let .dict(dictionary) = try top() else { throw fail("SETITEM on something other than a dict") }
        return dictionary
    }

    /// The index in ``heap`` of the list on top of the stack.
    private func listOnTop() throws -> Int {
        guard case let .list(list) = try top() else { throw fail("APPEND on something other than a list") }
        return list
    }

    private mutating func newTuple(_ items: [PickledObject]) -> PickledObject {
        heap.tuples.append(items)
        if !items.allSatisfy(isHashable) { heap.unhashableTuples.insert(heap.tuples.count - 1) }
        return .tuple(heap.tuples.count - 1)
    }

    /// Whether Python can hash `object`, as a dict key must be: not a list or a dict, nor a
    /// tuple holding one. (So no dict can be its own key.)
    private func isHashable(_ object: PickledObject) -> Bool {
        switch object {
        case .list, .dict: false
        case let .tuple(tuple): !heap.unhashableTuples.contains(tuple)
        default: true
        }
    }

    private func checkHashable(_ key: PickledObject) throws {
        guard isHashable(key) else {
            let what = if case .tuple = key { "a tuple that holds a list or a dict" } else { key.typeName }
            throw fail("a dict key is \(what), which Python cannot hash")
        }
    }

    private mutating func newList() -> PickledObject {
        heap.lists.append([])
        return .list(heap.lists.count - 1)
    }

    private mutating func newDict(_ pairs: [(key: PickledObject, value: PickledObject)] = []) -> PickledObject {
        heap.dicts.append(pairs)
        return .dict(heap.dicts.count - 1)
    }

    // MARK: Globals, calls and storages

    private func global(module: String, name: String) throws -> AllowedGlobal {
        guard let global = AllowedGlobal(module: module, name: name) else {
            throw CheckpointError.forbiddenGlobal(file: buffer.name, global: module + "." + name)
        }
        return global
    }

    /// `REDUCE`/`NEWOBJ`: rebuilds a dict or a tensor reference from an allowed global.
    private mutating func call(_ callable: PickledObject, _ arguments: PickledObject) throws -> PickledObject {
        guard case let .global(function) = callable else { throw fail("REDUCE calls something that is not a global") }
        guard case let .tuple(tuple) = arguments else { throw fail("REDUCE arguments are not a tuple") }
        let arguments = heap.tuples[tuple]
        switch (function, arguments.count) {
        case (.orderedDict, 0):
            return newDict()
        case (.orderedDict, 1):
            guard case let .list(list) = arguments[0] else { break }
            var pairs: [(key: PickledObject, value: PickledObject)] = []
            for item in heap.lists[list] {
                guard case let .tuple(pair) = item, heap.tuples[pair].count == 2 else {
                    throw fail("OrderedDict items are not pairs")
                }
                try checkHashable(heap.tuples[pair][0])
                pairs.append((heap.tuples[pair][0], heap.tuples[pair][1]))
            }
            return newDict(pairs)
        case (.rebuildTensorV2, 6), (.rebuildTensorV2, 7): // the 7th argument, tensor metadata, is ignored
            guard case let .storage(storage) = arguments[0], case let .int(offset) = arguments[1],
                  let shape = integers(arguments[2]), let strides = integers(arguments[3])
            else { break }
            return .tensor(TensorReference(storage: storage, storageOffset: offset, shape: shape, strides: strides))
        case (.rebuildParameter, 3), (.rebuildParameterWithState, 4):
            guard case .tensor = arguments[0] else { break }
            return arguments[0]
        default:
            break
        }
        throw fail("unexpected arguments for \(function.name)")
    }

    private func integers(_ object: PickledObject) -> [Int]? {
        guard case let .tuple(tuple) = object else { return nil }
        let items = heap.tuples[tuple]
        let values = items.compactMap { if case let .int(value) = $0 { value } else { nil } }
        return values.count == items.count ? values : nil
    }

    /// `BINPERSID`: `('storage', torch.<Type>Storage, key, location, elementCount[, view])`.
    private mutating func storage(_ id: PickledObject) throws -> StorageReference {
        let fields = if case let .tuple(tuple) = id { heap.tuples[tuple] } else { [PickledObject]() }
        guard fields.count == 5 || fields.count == 6,
              case .string("storage") = fields[0], case let .global(.storageType(elementType)) = fields[1],
              case let .string(key) = fields[2], case let .int(count) = fields[4], count >= 0
        else { throw fail("persistent id is not ('storage', torch.<Type>Storage, key, location, size)") }
        var view: (offset: Int, count: Int)?
        if fields.count == 6 {
            switch fields[5] {
            case .none: break
            case let .tuple(tuple):
                let metadata = heap.tuples[tuple]
                guard metadata.count == 3, case let .int(offset) = metadata[1], case let .int(count) = metadata[2],
                      offset >= 0, count >= 0
                else { throw fail("storage view metadata is not (key, offset, size)") }
                view = (offset, count)
            default: throw fail("storage view metadata is not (key, offset, size)")
            }
        }
        let reference = StorageReference(key: key, elementType: elementType, elementCount: count, view: view)
        if let first = storages[key] {
            guard first.elementType == elementType else {
                throw CheckpointError.unsupported(
                    file: buffer.name, key: nil,
                    detail: "storage '\(excerpt(key))' is used as both \(first.elementType) and \(elementType)")
            }
            return StorageReference(key: key, elementType: elementType, elementCount: first.elementCount, view: view)
        }
        storages[key] = reference
        return reference
    }
}

/// Turns unpickled objects into ``PickleValue``s, resolving tensor references to tensors.
///
/// Shared lists and dicts are copied at each reference; a cycle, nesting deeper than
/// `maximumDepth` or more than `budget` values in all (a pickle "billion laughs") throws.
/// So the values it builds nest at most `maximumDepth` deep, which bounds every recursion
/// over them (destruction, ``PickleValue/description``).
struct PickleConverter {
    let file: String
    /// The tuples, lists and dicts that the objects to convert index.
    let heap: PickleHeap
    /// Makes the tensor for a reference; the string names the value, e.g. `model.fc.weight`.
    let resolve: (TensorReference, String) throws -> TensorData
    var budget: Int
    /// The lists and dicts being converted, by heap index: meeting one again is a cycle.
    private var openLists: Set<Int> = []
    private var openDicts: Set<Int> = []
    static let maximumDepth = 200

    init(
        file: String, heap: PickleHeap, budget: Int,
        resolve: @escaping (TensorReference, String) throws -> TensorData
    ) {
        self.file = file
        self.heap = heap
        self.budget = budget
        self.resolve = resolve
    }

    mutating func convert(_ object: PickledObject, path: String = "", depth: Int = 0) throws -> PickleValue {
        budget -= 1
        guard budget >= 0, depth < Self.maximumDepth else {
            throw CheckpointError.malformed(
                file: file, key: path, detail: "the pickle nests too deep or expands to too many values")
        }
        switch object {
        case .none: return .none
        case let .bool(value): return .bool(value)
        case let .int(value): return .int(value)
        case let .float(value): return .float(value)
        case let .string(value): return .string(value)
        case let .bytes(value): return .bytes(value)
        case let .tuple(tuple):
            return .tuple(try convert(items: heap.tuples[tuple], path: path, depth: depth))
        case let .list(list):
            guard openLists.insert(list).inserted else { throw cycle(path) }
            defer { openLists.remove(list) }
            return .list(try convert(items: heap.lists[list], path: path, depth: depth))
        case let .dict(dictionary):
            guard openDicts.insert(dictionary).inserted else { throw cycle(path) }
            defer { openDicts.remove(dictionary) }
            var pairs: [(key: PickleValue, value: PickleValue)] = []
            for (key, value) in heap.dicts[dictionary] {
                let name = if case let .string(name) = key { path.isEmpty ? name : path + "." + name } else { path }
                let convertedKey = try convert(key, path: path, depth: depth + 1)
                pairs.append((convertedKey, try convert(value, path: name, depth: depth + 1)))
            }
            return .dict(pairs)
        case let .tensor(reference):
            return .tensor(try resolve(reference, path))
        case let .global(global):
            throw CheckpointError.unsupported(
                file: file, key: path, detail: "a bare reference to \(global.name) as a value")
        case .storage:
            throw CheckpointError.unsupported(
                file: file, key: path, detail: "a bare storage; only tensors are supported")
        }
    }

    private mutating func convert(items: [PickledObject], path: String, depth: Int) throws -> [PickleValue] {
        var values: [PickleValue] = []
        values.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            values.append(try convert(item, path: path + "[\(i)]", depth: depth + 1))
        }
        return values
    }

    private func cycle(_ path: String) -> CheckpointError {
        .malformed(file: file, key: path, detail: "the pickle contains itself (a cycle)")
    }
}
