import Foundation
import ImageCodecs
import Torch

/// Images in one sub-folder per class, as torchvision's `datasets.ImageFolder`.
///
/// For the same tree it finds the same classes and samples in the same order:
/// - classes are the sub-folders of `root` (symbolic links to folders count), sorted as
///   Python's `sorted()` sorts them (Unicode code points: `"B" < "a" < "b10" < "b2" < "Ä"`);
/// - each class folder is walked recursively following symbolic links (`os.walk(followlinks=True)`),
///   folders visited in code-point order of their full path, files sorted within each;
/// - a file is kept when its name ends, ignoring case, with one of `extensions`;
/// - hidden files and folders (names starting with `.`) are not skipped: torchvision keeps
///   them (so a stray `.ipynb_checkpoints` folder is a class: remove it or pass `classes`).
///
/// Unlike `os.walk`, an unreadable sub-folder throws instead of being silently left out,
/// and a symbolic link back to a folder it is inside or to the dataset root is not
/// followed (torchvision recurses until the path is too long, labelling every class's
/// images as this one's on the way). Files are listed, not opened: a bad file shows up when
/// ``image(at:)`` decodes it (see ``BadFilePolicy``).
public struct ImageFolder: Dataset {
    /// torchvision's `IMG_EXTENSIONS`. ``ImageDecoder`` reads JPEG and PNG only (by content,
    /// not name): the other formats are listed, as torchvision does, and fail to decode with
    /// an error that says to convert them.
    public static let imageExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

    public let root: URL
    public let classes: [String]
    public let labels: [Int]
    /// The file of every sample: `root/class/…/name`.
    public let paths: [String]
    /// How ``image(at:)`` decodes (3 channels by default).
    public let options: DecodeOptions
    /// Sub-folders of `root` left out because `classes` was given without them (a
    /// validation folder with a class the training set lacks), sorted.
    public let unlistedFolders: [String]

    /// Lists the samples under `root`.
    ///
    /// - Parameters:
    ///   - classes: the class names in label order, to keep one order across splits (say, the
    ///     training set's for the validation set). Folders not named are ignored. Default: all
    ///     sub-folders, sorted.
    ///   - extensions: file-name endings to keep (compared lowercased).
    ///   - allowEmpty: accept classes without files (torchvision's `allow_empty`).
    /// - Throws: ``DatasetError`` when `root` can't be read or holds no class folder, or a
    ///   class has no file with one of `extensions` (torchvision's `FileNotFoundError`).
    public init(
        root: URL, classes: [String]? = nil, extensions: [String] = ImageFolder.imageExtensions,
        allowEmpty: Bool = false, options: DecodeOptions = DecodeOptions()
    ) throws(DatasetError) {
        self.root = root
        self.options = options
        let rootPath = root.path
        let given = classes
        let classes = if let classes { classes } else { try findClasses(rootPath) }
        unlistedFolders = given == nil ? [] : codePointSorted(try listFolder(rootPath).filter(\.isFolder).map(\.name)
            .filter { !classes.contains($0) })
        if let name = firstDuplicate(classes) {
            throw DatasetError(path: rootPath, reason: "class \"\(name)\" is listed twice in classes; list each once")
        }
        let suffixes = extensions.map { Array($0.lowercased().utf8) }
        var paths: [String] = [], labels: [Int] = [], empty: [String] = []
        // No link inside a class leads back to the root (which would relabel every class).
        let excludedFolders = Set([rootPath].compactMap(folderID))
        // torchvision walks the classes in sorted order whatever their labels.
        for label in classes.indices.sorted(by: { classes[$0].utf8.lexicographicallyPrecedes(classes[$1].utf8) }) {
            let folder = rootPath + "/" + classes[label]
            let before = paths.count
            if isFolder(folder) {
                for (directory, files) in try walk(folder, excluded: excludedFolders) {
                    for file in codePointSorted(files) where suffixes.contains(where: { hasSuffix(file, $0) }) {
                        paths.append(directory + "/" + file)
                    }
                }
            }
            if paths.count == before { empty.append(classes[label]) }
            labels += repeatElement(label, count: paths.count - before)
        }
        if !empty.isEmpty && !allowEmpty {
            throw DatasetError(path: rootPath, reason: "Found no valid file for the classes \(empty.joined(separator: ", ")). "
                + "Graft decodes JPEG and PNG files (.jpg, .jpeg, .png). "
                + "Add images to these folders or remove them.")
        }
        self.classes = classes
        self.labels = labels
        self.paths = paths
    }

    public func image(at index: Int) throws -> Tensor { try loadImage(URL(fileURLWithPath: paths[index]), options: options) }

    public func source(at index: Int) -> String { paths[index] }
}

/// The sub-folders of `root`, sorted; throws when there are none.
private func findClasses(_ root: String) throws(DatasetError) -> [String] {
    let found = try listFolder(root).filter(\.isFolder).map(\.name)
    guard !found.isEmpty else {
        throw DatasetError(path: root, reason: "Couldn't find any class folder in \(root). "
            + "Put each class's images in its own sub-folder of it.")
    }
    return codePointSorted(found)
}

/// Whether the file name ends with `suffix` (UTF-8 bytes, lowercase), ignoring case.
private func hasSuffix(_ name: String, _ suffix: [UInt8]) -> Bool {
    name.lowercased().utf8.reversed().starts(with: suffix.reversed())
}

private struct Entry {
    var name: String
    var isFolder: Bool
}

private struct FileID: Hashable {
    var device: UInt64
    var inode: UInt64
}

/// The folder's identity, following symbolic links; nil when it isn't a folder.
private func folderID(_ path: String) -> FileID? {
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
    return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
}

private func isFolder(_ path: String) -> Bool { folderID(path) != nil }

/// The entries of a folder, as `os.scandir`: `isFolder` follows symbolic links.
private func listFolder(_ path: String) throws(DatasetError) -> [Entry] {
    guard let handle = opendir(path) else {
        throw DatasetError(path: path, reason: "cannot read the folder (\(String(cString: strerror(errno)))); "
            + "check the path and its permissions")
    }
    defer { closedir(handle) }
    var entries: [Entry] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name == "." || name == ".." { continue }
        let type = Int32(entry.pointee.d_type)
        let folder = type == DT_DIR || ((type == DT_LNK || type == DT_UNKNOWN) && isFolder(path + "/" + name))
        entries.append(Entry(name: name, isFolder: folder))
    }
    return entries
}

/// `sorted(os.walk(top, followlinks=True))` as (folder, file names) pairs, without
/// following a link into a folder it is already inside.
///
/// `excluded` folders (the dataset root) are never entered through a link either, so a
/// link inside a class can't give every class's images its label.
private func walk(_ top: String, excluded: Set<FileID> = []) throws(DatasetError) -> [(String, [String])] {
    var result: [(String, [String])] = []
    func visit(_ folder: String, inside ancestors: Set<FileID>) throws(DatasetError) {
        let entries = try listFolder(folder)
        result.append((folder, entries.filter { !$0.isFolder }.map(\.name)))
        for entry in entries where entry.isFolder {
            let path = folder + "/" + entry.name
            guard let id = folderID(path), !ancestors.contains(id), !excluded.contains(id) else { continue }
            try visit(path, inside: ancestors.union([id]))
        }
    }
    try visit(top, inside: folderID(top).map { [$0] } ?? [])
    return result.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
}
