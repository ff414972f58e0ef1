//! Go executables: the build information the Go linker embeds (Go 1.13+; what
//! `go version -m` prints). It names the Go toolchain (reported as the package `stdlib`), the
//! main module and every dependency module with its version and replacement.
//!
//! The build info lives in the `.go.buildinfo` section (ELF), `__go_buildinfo` (Mach-O) or
//! at the start of the data section (PE). Stripped files without section headers are found
//! by scanning for the 16-byte-aligned `\xff Go buildinf:` magic, as Go's own reader does.
//! Header (32 bytes): the 14-byte magic, the pointer size, flags. With flag 2 (Go 1.18+) the
//! Go version and the module info follow inline as uvarint-length-prefixed strings; before
//! that the header holds two pointers to Go string headers, resolved through the sections.
//!
//! Main module decisions (checked against Syft 1.18.1 and Trivy 0.59.1):
//! - The main module is the `mod` line; a binary built outside module mode (Debian builds
//!   its Go packages that way) only has a `path` line, and then, like Syft, the package path
//!   is reported as the main module. Trivy reports no main module in that case. `go build
//!   main.go` records the pseudo-module `command-line-arguments`: a single `(devel)`
//!   dependency is then the real main module (Syft's rule), otherwise there is none.
//! - A main module version of `(devel)` (anything built with `go build` rather than
//!   `go install mod@version`) is refined like Syft does: a `-X …version=` linker flag, then
//!   the first NUL-delimited semver string in the file, then a pseudo-version from the VCS
//!   stamp; when none is found the version stays `(devel)`, which is what Go records. The
//!   content guess is a heuristic (Syft warns it can be wrong) but it is what users compare
//!   against: Debian's `age` binaries come out as `filippo.io/age/cmd/age` `v1.1.1`.
//! - Dependencies replaced by a module (`=>` line) are reported under the replacement's path
//!   and version (Syft and Trivy do the same). Dependencies replaced by a local directory are
//!   skipped: that code has no module identity and the original version does not describe
//!   it (Trivy's go.mod parser drops them as well).
//! - `stdlib` carries the toolchain version without the `go` prefix and without experiment
//!   suffixes (`go1.22.3 X:boringcrypto` → `1.22.3`); development toolchains (`devel …`) give
//!   no `stdlib` package.

use object::{Object, ObjectSection, ObjectSegment};

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct GoBinary;

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const ALIGN: usize = 16;
/// Longest version or module-info string we accept (real ones are a few KB).
const MAX_STRING: u64 = 16 << 20;
const DEVEL: &str = "(devel)";
/// The main "module" of `go build main.go`.
const CLA: &str = "command-line-arguments";

/// Smallest and largest file worth opening as an executable.
const MIN_BINARY: u64 = 1024;
const MAX_BINARY: u64 = 512 << 20;

/// File name endings of things that carry an execute bit but are not programs: scripts,
/// shared and static libraries, objects, sources and documents.
const NOT_BINARY_SUFFIXES: &[&str] = &[
    ".sh", ".bash", ".zsh", ".ksh", ".csh", ".fish", ".py", ".pyc", ".pl", ".pm", ".rb", ".js",
    ".mjs", ".cjs", ".ts", ".php", ".lua", ".tcl", ".awk", ".sed", ".r", ".ps1", ".bat", ".cmd",
    ".so", ".a", ".o", ".ko", ".la", ".h", ".c", ".txt", ".md", ".json", ".yaml", ".yml", ".xml",
    ".html", ".css", ".conf", ".cfg", ".ini", ".jar", ".war", ".zip", ".gz", ".xz", ".png", ".jpg",
    ".svg",
];

/// Whether a file could be a native executable: executable (or named `.exe`), between 1 KB
/// and 512 MB, and not obviously a script or library by its name. Shared with the other
/// catalogers that read executables.
pub(crate) fn wants_executable(file: &FileInfo<'_>) -> bool {
    if file.size < MIN_BINARY || file.size > MAX_BINARY {
        return false;
    }
    let name = file.file_name().as_bytes();
    let ends_with = |suffix: &str| {
        name.len() >= suffix.len()
            && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    if ends_with(".exe") {
        return true;
    }
    if !file.is_executable() {
        return false;
    }
    // `libfoo.so.1.2.3`
    if name.windows(4).any(|w| w == b".so.") {
        return false;
    }
    !NOT_BINARY_SUFFIXES.iter().any(|s| ends_with(s))
}

/// Whether the bytes start like an ELF, Mach-O (thin or fat) or PE file.
pub(crate) fn is_native_executable(content: &[u8]) -> bool {
    let m = content.get(..4).unwrap_or(&[]);
    m == b"\x7fELF"
        || m == b"\xfe\xed\xfa\xce"
        || m == b"\xfe\xed\xfa\xcf"
        || m == b"\xce\xfa\xed\xfe"
        || m == b"\xcf\xfa\xed\xfe"
        || m == b"\xca\xfe\xba\xbe"
        || m.starts_with(b"MZ")
}

impl Cataloger for GoBinary {
    fn name(&self) -> &'static str {
        "go-binary"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        wants_executable(file)
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        if !is_native_executable(content) {
            return Ok(Vec::new());
        }
        let Some(info) = read_build_info(content)? else {
            return Ok(Vec::new());
        };
        Ok(packages(&info, content, file.path, self.name()))
    }
}

/// A module as the build info records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub replace: Option<Box<Module>>,
}

/// The decoded build information of one Go executable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// `go1.19.8`, possibly followed by ` X:experiment`.
    pub go_version: String,
    /// The main package path (`path` line).
    pub path: String,
    /// The main module (`mod` line).
    pub main: Option<Module>,
    pub deps: Vec<Module>,
    /// `build` settings in order (`-ldflags`, `vcs.revision`, `GOARCH`, …).
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Finds and decodes the build info. `Ok(None)`: not a Go executable. `Err`: a build-info
/// section that cannot be decoded.
pub fn read_build_info(content: &[u8]) -> Result<Option<BuildInfo>, CatalogError> {
    let obj = object::File::parse(content).ok();
    // The named section when there is one: a broken one is an error worth reporting.
    if let Some(obj) = &obj {
        for name in [".go.buildinfo", "__go_buildinfo"] {
            let Some(section) = obj.section_by_name(name) else {
                continue;
            };
            let Some((offset, _)) = section.file_range() else {
                continue;
            };
            let Some(data) = usize::try_from(offset).ok().and_then(|o| content.get(o..)) else {
                return Err(CatalogError::new(
                    "Go build info section lies outside the file",
                ));
            };
            return match decode(data, Some(obj), content)? {
                Some(info) => Ok(Some(info)),
                None => Err(CatalogError::new(
                    "Go build info section has no build info header",
                )),
            };
        }
    }
    // An ELF file with section headers but no `.go.buildinfo` is not a Go executable (Go has
    // written that section since 1.13): skip the scan, the common case for C programs.
    if let Some(obj) = &obj
        && obj.format() == object::BinaryFormat::Elf
        && obj.sections().count() > 1
    {
        return Ok(None);
    }
    // Stripped section headers, PE, older Mach-O: scan for the aligned magic. The magic
    // string also sits in the read-only data of programs that read build info themselves,
    // so candidates that do not decode are passed over silently.
    let mut from = 0;
    while let Some(i) = find(&content[from..], MAGIC).map(|i| i + from) {
        if i.is_multiple_of(ALIGN)
            && let Ok(Some(info)) = decode(&content[i..], obj.as_ref(), content)
        {
            return Ok(Some(info));
        }
        from = i + 1;
    }
    Ok(None)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(p) => {
                let at = i + p;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// Decodes the build info at the start of `data`. `Ok(None)` when the header is not there.
fn decode(
    data: &[u8],
    obj: Option<&object::File<'_>>,
    content: &[u8],
) -> Result<Option<BuildInfo>, CatalogError> {
    if data.len() < HEADER_LEN || !data.starts_with(MAGIC) {
        return Ok(None);
    }
    let ptr_size = data[14] as usize;
    let flags = data[15];
    let (version, modinfo) = if flags & 2 != 0 {
        let rest = &data[HEADER_LEN..];
        let (version, rest) = read_varint_string(rest)
            .ok_or_else(|| CatalogError::new("truncated Go version in build info"))?;
        let (modinfo, _) = read_varint_string(rest)
            .ok_or_else(|| CatalogError::new("truncated module info in build info"))?;
        (version.to_vec(), modinfo.to_vec())
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(CatalogError::new(format!(
                "unexpected pointer size {ptr_size} in Go build info"
            )));
        }
        let Some(obj) = obj else {
            return Err(CatalogError::new(
                "Go build info uses pointers but the executable's sections cannot be read",
            ));
        };
        let big_endian = flags & 1 != 0;
        let version_ptr = read_uint(&data[16..], ptr_size, big_endian)
            .ok_or_else(|| CatalogError::new("truncated Go build info header"))?;
        let modinfo_ptr = read_uint(&data[16 + ptr_size..], ptr_size, big_endian)
            .ok_or_else(|| CatalogError::new("truncated Go build info header"))?;
        let version =
            read_go_string(obj, content, version_ptr, ptr_size, big_endian).ok_or_else(|| {
                CatalogError::new("Go version string of the build info cannot be read")
            })?;
        // Go 1.13–1.17 binaries built outside module mode have no module info at all.
        let modinfo =
            read_go_string(obj, content, modinfo_ptr, ptr_size, big_endian).unwrap_or_default();
        (version, modinfo)
    };
    if version.is_empty() {
        return Ok(None);
    }
    let go_version = String::from_utf8_lossy(&version).into_owned();
    // The module info is framed by two 16-byte sentinels, the second after a newline.
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        String::from_utf8_lossy(&modinfo[16..modinfo.len() - 16]).into_owned()
    } else {
        String::new()
    };
    let mut info = parse_modinfo(&modinfo);
    info.go_version = go_version;
    Ok(Some(info))
}

fn read_varint_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let b = *data.get(i)?;
        i += 1;
        if shift >= 64 {
            return None;
        }
        len |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    if len > MAX_STRING {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    let end = i.checked_add(len)?;
    Some((data.get(i..end)?, &data[end..]))
}

fn read_uint(data: &[u8], size: usize, big_endian: bool) -> Option<u64> {
    let b = data.get(..size)?;
    let mut v: u64 = 0;
    if big_endian {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

/// Reads `len` bytes at virtual address `addr` through the file's sections or segments.
fn read_va<'a>(obj: &object::File<'_>, content: &'a [u8], addr: u64, len: u64) -> Option<&'a [u8]> {
    let slice = |start: u64, file_off: u64, file_size: u64| -> Option<&'a [u8]> {
        let delta = addr.checked_sub(start)?;
        if delta.checked_add(len)? > file_size {
            return None;
        }
        let from = usize::try_from(file_off.checked_add(delta)?).ok()?;
        let to = from.checked_add(usize::try_from(len).ok()?)?;
        content.get(from..to)
    };
    for s in obj.sections() {
        if addr >= s.address()
            && addr - s.address() < s.size()
            && let Some((off, size)) = s.file_range()
            && let Some(d) = slice(s.address(), off, size)
        {
            return Some(d);
        }
    }
    for s in obj.segments() {
        let (off, size) = s.file_range();
        if addr >= s.address()
            && addr - s.address() < s.size()
            && let Some(d) = slice(s.address(), off, size)
        {
            return Some(d);
        }
    }
    None
}

/// Reads a Go string header (data pointer, length) at `addr` and then its bytes.
fn read_go_string(
    obj: &object::File<'_>,
    content: &[u8],
    addr: u64,
    ptr_size: usize,
    big_endian: bool,
) -> Option<Vec<u8>> {
    let header = read_va(obj, content, addr, 2 * ptr_size as u64)?;
    let data_ptr = read_uint(header, ptr_size, big_endian)?;
    let len = read_uint(&header[ptr_size..], ptr_size, big_endian)?;
    if len > MAX_STRING {
        return None;
    }
    if len == 0 {
        return Some(Vec::new());
    }
    read_va(obj, content, data_ptr, len).map(<[u8]>::to_vec)
}

/// Parses the module info text (`path`, `mod`, `dep`, `=>`, `build` lines, tab separated).
/// Malformed lines are skipped.
pub fn parse_modinfo(text: &str) -> BuildInfo {
    let mut info = BuildInfo::default();
    // Which module a `=>` line replaces: None, the main module, or a dependency index.
    enum Last {
        None,
        Main,
        Dep(usize),
    }
    let mut last = Last::None;
    for line in text.lines() {
        let mut fields = line.split('\t');
        let kind = fields.next().unwrap_or("");
        match kind {
            "path" => info.path = fields.next().unwrap_or("").to_string(),
            "mod" | "dep" | "=>" => {
                let path = fields.next().unwrap_or("").to_string();
                let version = fields.next().unwrap_or("").to_string();
                let m = Module {
                    path,
                    version,
                    replace: None,
                };
                match kind {
                    "mod" => {
                        info.main = Some(m);
                        last = Last::Main;
                    }
                    "dep" => {
                        info.deps.push(m);
                        last = Last::Dep(info.deps.len() - 1);
                    }
                    _ => {
                        let target = match last {
                            Last::Main => info.main.as_mut(),
                            Last::Dep(i) => info.deps.get_mut(i),
                            Last::None => None,
                        };
                        if let Some(t) = target {
                            t.replace = Some(Box::new(m));
                        }
                        last = Last::None;
                    }
                }
            }
            "build" => {
                let kv = line.strip_prefix("build\t").unwrap_or("");
                if let Some(setting) = parse_setting(kv) {
                    info.settings.push(setting);
                }
            }
            _ => {}
        }
    }
    info
}

/// `key=value` with either side possibly quoted Go-style.
fn parse_setting(kv: &str) -> Option<(String, String)> {
    let (key, raw_value) = match kv.chars().next()? {
        '"' | '`' => {
            let (key, rest) = unquote_prefix(kv)?;
            (key, rest.strip_prefix('=')?)
        }
        '=' => return None,
        _ => {
            let (k, v) = kv.split_once('=')?;
            (k.to_string(), v)
        }
    };
    let value = match raw_value.chars().next() {
        Some('"' | '`') => unquote_prefix(raw_value).map(|(v, _)| v)?,
        _ => raw_value.to_string(),
    };
    Some((key, value))
}

/// Unquotes a leading Go string literal (`"…"` with escapes or a raw `` `…` ``), returning it
/// and the text after it.
fn unquote_prefix(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('`') {
        let end = rest.find('`')?;
        return Some((rest[..end].to_string(), &rest[end + 1..]));
    }
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &rest[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' => {
                        let h: String = (0..2)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
                    }
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let h: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}

fn is_local_path(path: &str) -> bool {
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path == "."
        || path == ".."
        || path.starts_with(".\\")
        || path.starts_with("..\\")
        || path.as_bytes().get(1..3) == Some(b":\\")
}

/// The packages a build info yields: main module, dependencies, `stdlib`.
pub fn packages(info: &BuildInfo, content: &[u8], path: &str, cataloger: &str) -> Vec<Package> {
    let mut out = Vec::new();
    // `go build file.go` records the pseudo-module `command-line-arguments`; then, as Syft
    // does, a single `(devel)` dependency is taken to be the real main module.
    let mut promoted = None;
    let main = match &info.main {
        Some(m) if m.path != CLA => Some(m.clone()),
        _ => {
            let devel: Vec<usize> = (0..info.deps.len())
                .filter(|&i| info.deps[i].version == DEVEL)
                .collect();
            if let [i] = devel[..] {
                promoted = Some(i);
                Some(info.deps[i].clone())
            } else if info.main.is_none() && !info.path.is_empty() && info.path != CLA {
                Some(Module {
                    path: info.path.clone(),
                    version: DEVEL.to_string(),
                    replace: None,
                })
            } else {
                None
            }
        }
    };
    if let Some(m) = main {
        let m = match m.replace {
            Some(r) if !is_local_path(&r.path) && !r.version.is_empty() => *r,
            _ => m,
        };
        let mut version = m.version.clone();
        if version.is_empty() || version == DEVEL {
            version = main_version(info, &m.path, content).unwrap_or_else(|| DEVEL.to_string());
        }
        out.push(Package::new(
            Ecosystem::Go,
            m.path,
            version,
            path,
            cataloger,
        ));
    }
    for (i, dep) in info.deps.iter().enumerate() {
        if promoted == Some(i) {
            continue;
        }
        let m = match &dep.replace {
            Some(r) if is_local_path(&r.path) || r.version.is_empty() => continue,
            Some(r) => r.as_ref(),
            None => dep,
        };
        if m.path.is_empty() {
            continue;
        }
        out.push(Package::new(
            Ecosystem::Go,
            m.path.clone(),
            m.version.clone(),
            path,
            cataloger,
        ));
    }
    if let Some(v) = stdlib_version(&info.go_version) {
        out.push(Package::new(Ecosystem::Go, "stdlib", v, path, cataloger));
    }
    out
}

/// `go1.19.8` → `1.19.8`; `go1.22.3 X:boringcrypto` → `1.22.3`; `devel …` → None.
pub fn stdlib_version(go_version: &str) -> Option<String> {
    let v = go_version.split_whitespace().next()?;
    let v = v.strip_prefix("go")?;
    (!v.is_empty() && v.as_bytes()[0].is_ascii_digit()).then(|| v.to_string())
}

/// A better version for a `(devel)` main module: linker flag, content guess, VCS stamp.
fn main_version(info: &BuildInfo, module: &str, content: &[u8]) -> Option<String> {
    if let Some(v) = info
        .setting("-ldflags")
        .and_then(|f| version_from_ldflags(f, module))
    {
        return Some(ensure_v(&v));
    }
    if let Some(v) = version_from_contents(content) {
        return Some(ensure_v(&v));
    }
    let revision = info.setting("vcs.revision")?;
    let time = info.setting("vcs.time")?;
    pseudo_version(revision, time)
}

fn ensure_v(v: &str) -> String {
    if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

/// Splits a flag string like a shell would (quotes group, backslash escapes).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                    in_word = true;
                }
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The main module's version from `-X pkg.Version=1.2.3` linker flags: the variable must
/// end in `ver`/`version` (any case) and live in package `main` or in the main module.
pub fn version_from_ldflags(ldflags: &str, module: &str) -> Option<String> {
    let words = shell_words(ldflags);
    let mut assignments = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w == "-X" || w == "--X" {
            if let Some(next) = words.get(i + 1) {
                assignments.push(next.clone());
            }
            i += 2;
            continue;
        }
        if let Some(rest) = w.strip_prefix("-X=").or_else(|| w.strip_prefix("--X=")) {
            assignments.push(rest.to_string());
        }
        i += 1;
    }
    for a in assignments {
        let Some((key, value)) = a.split_once('=') else {
            continue;
        };
        let key = key.trim_matches(|c| c == '\'' || c == '"');
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        let Some((pkg, var)) = key.rsplit_once('.') else {
            continue;
        };
        let var = var.to_ascii_lowercase();
        if !(var.ends_with("version") || var.ends_with("ver"))
            || !var.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            continue;
        }
        let in_main = pkg == "main"
            || pkg.ends_with("/main")
            || pkg == module
            || pkg.starts_with(&format!("{module}/"));
        if !in_main {
            continue;
        }
        if let Some(v) = semver_prefix(value) {
            return Some(v.to_string());
        }
    }
    None
}

fn digits(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `v?\d+\.\d+\.\d+[-\w]*` at the start of `s`.
fn semver_prefix(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    for part in 0..3 {
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
        if part < 2 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    while i < b.len() && (is_word(b[i]) || b[i] == b'-') {
        i += 1;
    }
    Some(&s[..i])
}

/// Width of the UTF-8 sequence at `i` (1 for an invalid byte) and whether it is a valid
/// encoding; decoding works like Go's `utf8.DecodeRune`.
fn rune_width(b: &[u8], i: usize) -> (usize, bool) {
    let c0 = b[i];
    let cont = |k: usize, lo: u8, hi: u8| b.get(i + k).is_some_and(|&c| (lo..=hi).contains(&c));
    let (w, ok) = match c0 {
        0x00..=0x7f => (1, true),
        0xc2..=0xdf => (2, cont(1, 0x80, 0xbf)),
        0xe0 => (3, cont(1, 0xa0, 0xbf) && cont(2, 0x80, 0xbf)),
        0xe1..=0xec | 0xee..=0xef => (3, cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf)),
        0xed => (3, cont(1, 0x80, 0x9f) && cont(2, 0x80, 0xbf)),
        0xf0 => (
            4,
            cont(1, 0x90, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf),
        ),
        0xf1..=0xf3 => (
            4,
            cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf),
        ),
        0xf4 => (
            4,
            cont(1, 0x80, 0x8f) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf),
        ),
        _ => (1, false),
    };
    if ok { (w, true) } else { (1, false) }
}

/// A version string at `k` that runs to a NUL: `v?\d+\.\d+\.\d+[-\w]*[+\w]*\x00`.
fn version_at(b: &[u8], k: usize) -> Option<&[u8]> {
    let mut i = k;
    if b.get(i) == Some(&b'v') {
        i += 1;
    }
    for part in 0..3 {
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
        if part < 2 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    let mut seen_plus = false;
    loop {
        match *b.get(i)? {
            0 => return Some(&b[k..i]),
            b'+' => seen_plus = true,
            b'-' if !seen_plus => {}
            c if is_word(c) => {}
            _ => return None,
        }
        i += 1;
    }
}

/// Syft's guess at a `(devel)` main module's version: the first semver-looking string that
/// follows a NUL or an invalid UTF-8 byte (optionally with one character and `L` between)
/// and is followed by a NUL — how `-X main.version=…` strings usually sit in the binary.
pub fn version_from_contents(b: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < b.len() {
        let (w, valid) = rune_width(b, i);
        let is_replacement = valid && w == 3 && b[i..i + 3] == [0xef, 0xbf, 0xbd];
        if b[i] == 0 || !valid || is_replacement {
            let j = i + w;
            // (.L)? first, as the regular expression prefers it.
            if j < b.len() && b[j] != b'\n' {
                let (w2, _) = rune_width(b, j);
                if b.get(j + w2) == Some(&b'L')
                    && let Some(v) = version_at(b, j + w2 + 1)
                {
                    return Some(String::from_utf8_lossy(v).into_owned());
                }
            }
            if let Some(v) = version_at(b, j) {
                return Some(String::from_utf8_lossy(v).into_owned());
            }
        }
        i += w;
    }
    None
}

/// `v0.0.0-20230405101112-abcdef123456` from a VCS revision and an RFC 3339 UTC time.
fn pseudo_version(revision: &str, time: &str) -> Option<String> {
    let t = time.strip_suffix('Z')?;
    let stamp: String = t.chars().filter(char::is_ascii_digit).collect();
    if stamp.len() < 14 || !revision.bytes().all(|c| c.is_ascii_hexdigit()) || revision.is_empty() {
        return None;
    }
    let rev: String = revision.chars().take(12).collect();
    Some(format!("v0.0.0-{}-{rev}", &stamp[..14]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn varint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    /// An inline (Go 1.18+) build info blob.
    pub(crate) fn inline_buildinfo(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(8);
        b.push(2);
        b.resize(HEADER_LEN, 0);
        varint(version.len(), &mut b);
        b.extend_from_slice(version.as_bytes());
        // Go's text ends with a newline, right before the closing sentinel.
        let mut text = modinfo.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let framed = format!("0123456789abcdef{text}0123456789abcdef");
        varint(framed.len(), &mut b);
        b.extend_from_slice(framed.as_bytes());
        b
    }

    /// A minimal little-endian ELF64 file with one named section holding `data`.
    pub(crate) fn minimal_elf(section: &str, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little endian
        f[6] = 1; // version
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        f[58..60].copy_from_slice(&64u16.to_le_bytes()); // shentsize
        f[60..62].copy_from_slice(&3u16.to_le_bytes()); // shnum
        f[62..64].copy_from_slice(&2u16.to_le_bytes()); // shstrndx
        while !f.len().is_multiple_of(16) {
            f.push(0);
        }
        let data_off = f.len() as u64;
        f.extend_from_slice(data);
        let strtab_off = f.len() as u64;
        let mut strtab = vec![0u8];
        let name_off = strtab.len() as u32;
        strtab.extend_from_slice(section.as_bytes());
        strtab.push(0);
        let shstr_name = strtab.len() as u32;
        strtab.extend_from_slice(b".shstrtab\0");
        f.extend_from_slice(&strtab);
        while !f.len().is_multiple_of(8) {
            f.push(0);
        }
        let shoff = f.len() as u64;
        f[40..48].copy_from_slice(&shoff.to_le_bytes());
        let sh = |name: u32, kind: u32, flags: u64, addr: u64, off: u64, size: u64| {
            let mut s = Vec::with_capacity(64);
            s.extend_from_slice(&name.to_le_bytes());
            s.extend_from_slice(&kind.to_le_bytes());
            s.extend_from_slice(&flags.to_le_bytes());
            s.extend_from_slice(&addr.to_le_bytes());
            s.extend_from_slice(&off.to_le_bytes());
            s.extend_from_slice(&size.to_le_bytes());
            s.extend_from_slice(&0u32.to_le_bytes());
            s.extend_from_slice(&0u32.to_le_bytes());
            s.extend_from_slice(&16u64.to_le_bytes());
            s.extend_from_slice(&0u64.to_le_bytes());
            s
        };
        f.extend_from_slice(&[0u8; 64]);
        f.extend_from_slice(&sh(
            name_off,
            1,
            3,
            0x40_0000 + data_off,
            data_off,
            data.len() as u64,
        ));
        f.extend_from_slice(&sh(shstr_name, 3, 0, 0, strtab_off, strtab.len() as u64));
        f
    }

    const MODINFO: &str = "path\tgithub.com/acme/tool/cmd/tool\n\
mod\tgithub.com/acme/tool\tv1.4.2\th1:abc=\n\
dep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\n\
dep\tgolang.org/x/net\tv0.1.0\th1:x=\n\
=>\tgithub.com/fork/net\tv0.1.1-fix\th1:y=\n\
dep\tgithub.com/acme/local\tv0.0.0-00010101000000-000000000000\n\
=>\t../local\t\n\
build\t-compiler=gc\n\
build\t-ldflags=\"-s -w -X main.version=9.9.9\"\n\
build\tCGO_ENABLED=0\n";

    fn names(pkgs: &[Package]) -> Vec<(String, String)> {
        pkgs.iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }

    #[test]
    fn decodes_inline_build_info_in_an_elf_section() {
        let elf = minimal_elf(".go.buildinfo", &inline_buildinfo("go1.21.4", MODINFO));
        let file = FileInfo {
            path: "usr/local/bin/tool",
            size: elf.len() as u64,
            mode: 0o755,
        };
        let pkgs = GoBinary.catalog(&file, &elf).unwrap();
        assert_eq!(
            names(&pkgs),
            vec![
                ("github.com/acme/tool".into(), "v1.4.2".into()),
                ("github.com/pkg/errors".into(), "v0.9.1".into()),
                ("github.com/fork/net".into(), "v0.1.1-fix".into()),
                ("stdlib".into(), "1.21.4".into()),
            ]
        );
        assert!(
            pkgs.iter()
                .all(|p| p.ecosystem == Ecosystem::Go && p.found_by == "go-binary")
        );
        assert_eq!(pkgs[0].locations[0].path, "usr/local/bin/tool");
    }

    #[test]
    fn finds_build_info_without_section_headers() {
        // An ELF whose section headers were stripped: the aligned magic is found.
        let mut elf = minimal_elf(".data", &[0u8; 32]);
        elf[60..62].copy_from_slice(&0u16.to_le_bytes()); // e_shnum
        elf[40..48].copy_from_slice(&0u64.to_le_bytes()); // e_shoff
        // A decoy copy of the magic at an unaligned offset, as in programs that read build info.
        elf.extend_from_slice(b"xx\xff Go buildinf:garbage");
        while !elf.len().is_multiple_of(16) {
            elf.push(0);
        }
        elf.extend_from_slice(&inline_buildinfo(
            "go1.20.1 X:boringcrypto",
            "path\texample.com/x\nmod\texample.com/x\tv0.3.0\t\n",
        ));
        let info = read_build_info(&elf).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.20.1 X:boringcrypto");
        let pkgs = packages(&info, &elf, "x", "go-binary");
        // With section headers but no .go.buildinfo, the file is not taken for Go.
        let mut with_sections = minimal_elf(".data", &[0u8; 32]);
        with_sections.extend_from_slice(&elf[with_sections.len()..]);
        assert_eq!(read_build_info(&with_sections).unwrap(), None);
        assert_eq!(
            names(&pkgs),
            vec![
                ("example.com/x".into(), "v0.3.0".into()),
                ("stdlib".into(), "1.20.1".into())
            ]
        );
    }

    #[test]
    fn devel_main_module_versions() {
        let info = parse_modinfo(MODINFO);
        assert_eq!(
            info.setting("-ldflags"),
            Some("-s -w -X main.version=9.9.9")
        );
        let mut devel = info.clone();
        devel.main.as_mut().unwrap().version = DEVEL.into();
        assert_eq!(packages(&devel, b"", "x", "t")[0].version, "v9.9.9");
        // No ldflags: the VCS stamp gives a pseudo-version.
        devel.settings = vec![
            ("vcs.revision".into(), "0123456789abcdef0123".into()),
            ("vcs.time".into(), "2023-04-05T10:11:12Z".into()),
        ];
        assert_eq!(
            packages(&devel, b"", "x", "t")[0].version,
            "v0.0.0-20230405101112-0123456789ab"
        );
        // Nothing at all: (devel) as Go records it.
        devel.settings.clear();
        assert_eq!(
            packages(&devel, b"\x00nothing here", "x", "t")[0].version,
            "(devel)"
        );
        // Only a package path (GOPATH build): the path is the main module.
        let gopath = parse_modinfo("path\tfilippo.io/age/cmd/age\nbuild\t-compiler=gc\n");
        let pkgs = packages(&gopath, b"\xff\xff1.1.1\x00", "x", "t");
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("filippo.io/age/cmd/age", "v1.1.1")
        );
        // command-line-arguments is not a module; a single (devel) dependency stands in.
        let cla = parse_modinfo("path\tcommand-line-arguments\n");
        assert!(packages(&cla, b"", "x", "t").is_empty());
        let cla = parse_modinfo(
            "path\tcommand-line-arguments\ndep\tgithub.com/a/tool/v8\t(devel)\t\ndep\tdario.cat/mergo\tv1.0.1\th1:x=\nbuild\t-ldflags=\"-s -X=github.com/a/tool/v8/version.Version=8.30.1\"\n",
        );
        assert_eq!(
            names(&packages(&cla, b"", "x", "t")),
            vec![
                ("github.com/a/tool/v8".into(), "v8.30.1".into()),
                ("dario.cat/mergo".into(), "v1.0.1".into())
            ]
        );
    }

    #[test]
    fn ldflags_versions() {
        assert_eq!(
            version_from_ldflags("-X main.version=1.2.3", "m").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(
            version_from_ldflags(
                "-s -X 'github.com/a/b/internal/build.Version=v2.0.0-rc1'",
                "github.com/a/b"
            )
            .as_deref(),
            Some("v2.0.0-rc1")
        );
        assert_eq!(
            version_from_ldflags("-X=main.gitVersion=0.9.0", "m").as_deref(),
            Some("0.9.0")
        );
        // Another module's variable, a non-version variable, a non-semver value.
        assert_eq!(
            version_from_ldflags("-X github.com/other/x.Version=1.0.0", "m"),
            None
        );
        assert_eq!(version_from_ldflags("-X main.commit=1.2.3", "m"), None);
        assert_eq!(version_from_ldflags("-X main.version=dev", "m"), None);
    }

    #[test]
    fn content_versions_follow_syft_pattern() {
        assert_eq!(
            version_from_contents(b"abc\x00v1.2.3\x00").as_deref(),
            Some("v1.2.3")
        );
        assert_eq!(
            version_from_contents(b"\xff1.1.1\x00").as_deref(),
            Some("1.1.1")
        );
        assert_eq!(
            version_from_contents(b"\x00\xa0L2.3.4-beta.1\x00").as_deref(),
            None,
            "a dot after - is not allowed"
        );
        assert_eq!(
            version_from_contents(b"\x00\xa0L2.3.4-beta1+meta\x00").as_deref(),
            Some("2.3.4-beta1+meta")
        );
        // Not preceded by NUL/invalid byte, not followed by NUL, too few components.
        assert_eq!(
            version_from_contents(b"a1.2.3\x00 \x001.2.3 \x001.2\x00"),
            None
        );
        // A valid multi-byte character is not a prefix.
        assert_eq!(version_from_contents("é1.2.3\0".as_bytes()), None);
    }

    #[test]
    fn stdlib_versions() {
        assert_eq!(stdlib_version("go1.19.8").as_deref(), Some("1.19.8"));
        assert_eq!(
            stdlib_version("go1.22.3 X:boringcrypto").as_deref(),
            Some("1.22.3")
        );
        assert_eq!(stdlib_version("go1.21rc2").as_deref(), Some("1.21rc2"));
        assert_eq!(stdlib_version("devel go1.23-abc Tue"), None);
    }

    #[test]
    fn settings_with_quotes() {
        assert_eq!(
            parse_setting("GOARCH=amd64"),
            Some(("GOARCH".into(), "amd64".into()))
        );
        assert_eq!(
            parse_setting("-tags=\"a b\\tc\""),
            Some(("-tags".into(), "a b\tc".into()))
        );
        assert_eq!(
            parse_setting("\"odd key\"=`raw \\n`"),
            Some(("odd key".into(), "raw \\n".into()))
        );
        assert_eq!(parse_setting("=x"), None);
        assert_eq!(parse_setting("novalue"), None);
    }

    #[test]
    fn wants_only_plausible_executables() {
        let f = |path, size, mode| GoBinary.wants(&FileInfo { path, size, mode });
        assert!(f("usr/bin/age", 3_672_144, 0o755));
        assert!(f("app/tool.exe", 10_000, 0o644));
        assert!(!f("usr/bin/age", 3_672_144, 0o644));
        assert!(!f("usr/bin/tiny", 100, 0o755));
        assert!(!f("usr/lib/libfoo.so.1.2", 10_000, 0o755));
        assert!(!f("usr/bin/script.sh", 10_000, 0o755));
        assert!(!f("usr/lib/python3/x.py", 10_000, 0o755));
    }

    #[test]
    fn never_panics_on_garbage() {
        let file = FileInfo {
            path: "x",
            size: 0,
            mode: 0o755,
        };
        assert!(GoBinary.catalog(&file, b"").unwrap().is_empty());
        assert!(
            GoBinary
                .catalog(&file, b"#!/bin/sh\necho hi\n")
                .unwrap()
                .is_empty()
        );
        assert!(GoBinary.catalog(&file, b"\x7fELF").unwrap().is_empty());
        // A build info section that is cut short is an error, not a panic.
        let mut blob = inline_buildinfo("go1.21.0", MODINFO);
        blob.truncate(40);
        let elf = minimal_elf(".go.buildinfo", &blob);
        // The section's bytes continue into the rest of the file, so decoding reads the
        // string table as the module info: whatever comes out, it must not panic.
        let _ = GoBinary.catalog(&file, &elf);
        let _ = GoBinary.catalog(
            &file,
            &minimal_elf(".go.buildinfo", b"\xff Go buildinf:\x08\x02"),
        );
        // Pointer format without resolvable pointers.
        let mut old = MAGIC.to_vec();
        old.extend_from_slice(&[8, 0]);
        old.extend_from_slice(&u64::MAX.to_le_bytes());
        old.extend_from_slice(&u64::MAX.to_le_bytes());
        let elf = minimal_elf(".go.buildinfo", &old);
        assert!(GoBinary.catalog(&file, &elf).is_err());
        for cut in [0, 4, 20, 63, 64, 100] {
            let elf = minimal_elf(".go.buildinfo", &inline_buildinfo("go1.21.0", MODINFO));
            let _ = GoBinary.catalog(&file, &elf[..cut.min(elf.len())]);
        }
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&[8, 2]);
        huge.resize(HEADER_LEN, 0);
        huge.extend_from_slice(&[0xff; 12]);
        assert!(read_varint_string(&huge[HEADER_LEN..]).is_none());
    }

    #[test]
    fn pointer_format_is_resolved_through_sections() {
        // Go 1.13–1.17 layout: header with two pointers to string headers, all in one section.
        let base = 0x40_0000u64;
        let version = b"go1.16.15";
        let modinfo = b"0123456789abcdefpath\texample.com/old\nmod\texample.com/old\tv1.0.0\t\ndep\tgithub.com/x/y\tv0.2.0\th1:z=\n0123456789abcdef";
        // Section layout: [header 32][strhdr ver 16][strhdr mod 16][ver][mod]
        let mut sec = MAGIC.to_vec();
        sec.extend_from_slice(&[8, 0]);
        let mut rest = Vec::new();
        // The section will start at file offset 64 (after the ELF header) at address base+64.
        let sec_addr = base + 64;
        let hdr_ver = sec_addr + 32;
        let hdr_mod = sec_addr + 48;
        let ver_addr = sec_addr + 64;
        let mod_addr = ver_addr + version.len() as u64;
        rest.extend_from_slice(&hdr_ver.to_le_bytes());
        rest.extend_from_slice(&hdr_mod.to_le_bytes());
        sec.extend_from_slice(&rest);
        sec.extend_from_slice(&ver_addr.to_le_bytes());
        sec.extend_from_slice(&(version.len() as u64).to_le_bytes());
        sec.extend_from_slice(&mod_addr.to_le_bytes());
        sec.extend_from_slice(&(modinfo.len() as u64).to_le_bytes());
        sec.extend_from_slice(version);
        sec.extend_from_slice(modinfo);
        let elf = minimal_elf(".go.buildinfo", &sec);
        let info = read_build_info(&elf).unwrap().unwrap();
        assert_eq!(info.go_version, "go1.16.15");
        assert_eq!(
            names(&packages(&info, &elf, "x", "t")),
            vec![
                ("example.com/old".into(), "v1.0.0".into()),
                ("github.com/x/y".into(), "v0.2.0".into()),
                ("stdlib".into(), "1.16.15".into()),
            ]
        );
    }
}
