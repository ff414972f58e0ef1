//! Dockerfile reading with line numbers, and the shell-command view checks use.
//!
//! The reader follows the BuildKit frontend's rules that matter for checks: parser
//! directives (`# escape=`), line continuations (comment and blank lines inside them are
//! dropped), heredocs (`RUN <<EOF`), flags (`--from=`, `--chown=`), exec (JSON) and shell
//! forms, and build stages. It never fails: a line it cannot make sense of is kept as an
//! instruction with an unknown keyword, which checks ignore. Why our own reader and not a
//! crate is in `docs/decisions/0002-dockerfile-reader.md`.

pub mod rules;
pub mod shell;

use palisade_yaml::Span;

/// One instruction, with continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-cased keyword: `FROM`, `RUN`, …
    pub keyword: String,
    /// `--name=value` flags before the arguments, in order.
    pub flags: Vec<(String, String)>,
    /// Arguments after the flags, continuation lines joined by a space.
    pub args: String,
    /// Bodies of heredocs opened on this instruction, in order.
    pub heredocs: Vec<String>,
    /// First and last source line.
    pub start_line: u32,
    pub end_line: u32,
    /// Index of the build stage (0-based; instructions before the first FROM are in stage 0).
    pub stage: usize,
}

impl Instruction {
    pub fn span(&self) -> Span {
        Span {
            start_line: self.start_line,
            start_col: 1,
            end_line: self.end_line,
            end_col: 1,
        }
    }

    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON array of the exec form (`["a", "b"]`), if that is the form used.
    pub fn exec_form(&self) -> Option<Vec<String>> {
        let t = self.args.trim();
        if !(t.starts_with('[') && t.ends_with(']')) {
            return None;
        }
        parse_json_string_array(t)
    }

    /// The shell script this instruction runs (`RUN` shell form, or heredoc bodies).
    pub fn script(&self) -> String {
        let mut s = String::new();
        if let Some(words) = self.exec_form() {
            s.push_str(&words.join(" "));
        } else {
            s.push_str(&self.args);
        }
        for h in &self.heredocs {
            s.push('\n');
            s.push_str(h);
        }
        s
    }
}

/// A build stage: one `FROM` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The image reference as written (variables not expanded).
    pub image: String,
    /// `AS name`, lower-cased as BuildKit compares them.
    pub name: Option<String>,
    /// Index of the FROM instruction in [`Dockerfile::instructions`].
    pub from_index: usize,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// `ARG` instructions before the first `FROM`, with default values.
    pub global_args: Vec<(String, Option<String>)>,
}

impl Dockerfile {
    /// Reads a Dockerfile. Never fails; see the module documentation.
    pub fn parse(text: &str) -> Dockerfile {
        let mut escape = '\\';
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        // Parser directives: only at the very top, before any other line.
        while i < lines.len() {
            let l = lines[i].trim();
            let Some(rest) = l.strip_prefix('#') else {
                break;
            };
            let Some((k, v)) = rest.split_once('=') else {
                break;
            };
            let key = k.trim().to_ascii_lowercase();
            if key.contains(char::is_whitespace) {
                break;
            }
            if key == "escape" {
                match v.trim() {
                    "`" => escape = '`',
                    _ => escape = '\\',
                }
            }
            i += 1;
        }

        let mut df = Dockerfile::default();
        let mut stage: Option<usize> = None;
        while i < lines.len() {
            let line = lines[i];
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                i += 1;
                continue;
            }
            let start_line = i as u32 + 1;
            // Join continuation lines.
            let mut logical = String::new();
            let mut cur = line.to_string();
            loop {
                let t = cur.trim_end();
                if let Some(body) = t.strip_suffix(escape) {
                    logical.push_str(body);
                    logical.push(' ');
                    i += 1;
                    // Skip comment and empty lines inside a continuation.
                    while i < lines.len() {
                        let n = lines[i].trim_start();
                        if n.starts_with('#') || n.trim().is_empty() {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    match lines.get(i) {
                        Some(next) => cur = next.to_string(),
                        None => {
                            i = lines.len();
                            break;
                        }
                    }
                } else {
                    logical.push_str(t);
                    i += 1;
                    break;
                }
            }
            let end_line_before_heredoc = (i as u32).max(start_line);
            let logical = logical.trim().to_string();
            let (kw, rest) = match logical.split_once(char::is_whitespace) {
                Some((k, r)) => (k.to_ascii_uppercase(), r.trim_start().to_string()),
                None => (logical.to_ascii_uppercase(), String::new()),
            };
            let (flags, args) = split_flags(&rest);
            // Heredocs: `<<EOF`, `<<-EOF`, `<<"EOF"` open bodies that follow this line.
            let mut heredocs = Vec::new();
            let mut end_line = end_line_before_heredoc;
            if matches!(kw.as_str(), "RUN" | "COPY" | "ADD") {
                for delim in heredoc_delimiters(&args) {
                    let strip_tabs = delim.0;
                    let mut body = String::new();
                    while i < lines.len() {
                        let l = lines[i];
                        i += 1;
                        let cmp = if strip_tabs {
                            l.trim_start_matches('\t')
                        } else {
                            l
                        };
                        if cmp == delim.1 {
                            break;
                        }
                        body.push_str(cmp);
                        body.push('\n');
                    }
                    end_line = i as u32;
                    heredocs.push(body);
                }
            }
            if kw == "FROM" {
                let words: Vec<&str> = args.split_whitespace().collect();
                let image = words.first().copied().unwrap_or("").to_string();
                let name = match words.as_slice() {
                    [_, as_, name, ..] if as_.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => None,
                };
                df.stages.push(Stage {
                    image,
                    name,
                    from_index: df.instructions.len(),
                });
                stage = Some(df.stages.len() - 1);
            } else if kw == "ARG" && stage.is_none() {
                for (name, default) in parse_arg_decls(&args) {
                    df.global_args.push((name, default));
                }
            }
            df.instructions.push(Instruction {
                keyword: kw,
                flags,
                args,
                heredocs,
                start_line,
                end_line,
                stage: stage.unwrap_or(0),
            });
        }
        df
    }

    /// Instructions of one stage.
    pub fn stage_instructions(&self, stage: usize) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().filter(move |i| i.stage == stage)
    }

    /// The final stage, the one that becomes the image (unless `--target` says otherwise).
    pub fn final_stage(&self) -> Option<usize> {
        self.stages.len().checked_sub(1)
    }

    /// Expands `$NAME` / `${NAME}` / `${NAME:-default}` from global ARG defaults; unknown
    /// variables stay as written.
    pub fn expand_global(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let (name, default, consumed) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => {
                        let body = &inner[..end];
                        let (n, d) = match body.split_once(":-") {
                            Some((n, d)) => (n, Some(d)),
                            None => (body, None),
                        };
                        (n, d, end + 2)
                    }
                    None => ("", None, 0),
                }
            } else {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], None, n)
            };
            if name.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            let value = self
                .global_args
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.clone())
                .or_else(|| default.map(str::to_string));
            match value {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[pos..pos + 1 + consumed]),
            }
            rest = &after[consumed..];
        }
        out.push_str(rest);
        out
    }
}

fn split_flags(rest: &str) -> (Vec<(String, String)>, String) {
    let mut flags = Vec::new();
    let mut s = rest.trim_start();
    while let Some(f) = s.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        let word = &f[..end];
        let (n, v) = word.split_once('=').unwrap_or((word, ""));
        if n.is_empty() {
            break;
        }
        flags.push((n.to_string(), v.to_string()));
        s = f[end..].trim_start();
    }
    (flags, s.to_string())
}

/// Heredoc openers in the arguments: (strip leading tabs, delimiter).
fn heredoc_delimiters(args: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(pos) = rest.find("<<") {
        let mut after = &rest[pos + 2..];
        let strip = after.starts_with('-');
        if strip {
            after = &after[1..];
        }
        let quoted = after.starts_with(['"', '\'']);
        let body = after.trim_start_matches(['"', '\'']);
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..end];
        if !name.is_empty()
            && (quoted
                || name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
        {
            out.push((strip, name.to_string()));
        }
        rest = &body[end..];
    }
    out
}

/// `ARG A=1 B` → [(A, Some(1)), (B, None)].
pub fn parse_arg_decls(args: &str) -> Vec<(String, Option<String>)> {
    shell::words(args)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect()
}

/// `ENV A=1 B="two words"` or the legacy `ENV A value with spaces`.
pub fn parse_env_pairs(args: &str) -> Vec<(String, String)> {
    let words = shell::words(args);
    if words.first().is_some_and(|w| w.contains('=')) {
        words
            .into_iter()
            .filter_map(|w| {
                w.split_once('=')
                    .map(|(n, v)| (n.to_string(), v.to_string()))
            })
            .collect()
    } else if let Some((name, value)) = args.trim().split_once(char::is_whitespace) {
        vec![(name.to_string(), value.trim().to_string())]
    } else {
        Vec::new()
    }
}

fn parse_json_string_array(t: &str) -> Option<Vec<String>> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            None => return Some(out),
            Some('"') => {
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            c => s.push(c),
                        },
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_instructions_with_lines_continuations_and_stages() {
        let df = Dockerfile::parse(
            "# syntax=docker/dockerfile:1\nARG BASE=debian:12\nFROM ${BASE} AS Build\n\nRUN apt-get update && \\\n    # a comment\n    apt-get install -y curl\nCOPY --from=build --chown=1:1 /a /b\nFROM scratch\nCMD [\"/app\", \"--flag\"]\n",
        );
        let kws: Vec<_> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(kws, ["ARG", "FROM", "RUN", "COPY", "FROM", "CMD"]);
        let run = &df.instructions[2];
        assert_eq!((run.start_line, run.end_line), (5, 7));
        assert_eq!(run.args, "apt-get update &&      apt-get install -y curl");
        assert_eq!(df.instructions[3].flag("from"), Some("build"));
        assert_eq!(df.instructions[3].args, "/a /b");
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].name.as_deref(), Some("build"));
        assert_eq!(df.expand_global(&df.stages[0].image), "debian:12");
        assert_eq!(df.instructions[5].exec_form().unwrap(), ["/app", "--flag"]);
        assert_eq!(df.instructions[5].stage, 1);
    }

    #[test]
    fn escape_directive_and_heredocs() {
        let df = Dockerfile::parse(
            "# escape=`\nFROM x\nRUN a `\n  b\nRUN <<EOF\ncurl x | sh\nEOF\nUSER app\n",
        );
        assert_eq!(df.instructions[1].args, "a    b");
        assert_eq!(df.instructions[2].heredocs, ["curl x | sh\n"]);
        assert_eq!(
            (df.instructions[2].start_line, df.instructions[2].end_line),
            (5, 7)
        );
        assert_eq!(df.instructions[3].keyword, "USER");
        assert_eq!(df.instructions[3].start_line, 8);
    }

    #[test]
    fn lowercase_heredoc_delimiters() {
        let df = Dockerfile::parse(
            "FROM a\nRUN <<eot\ncurl -k https://x | sh\nFROM x\neot\nRUN echo $((1<<2))\n",
        );
        assert_eq!(df.stages.len(), 1, "the heredoc body is not an instruction");
        assert_eq!(
            df.instructions[1].heredocs,
            ["curl -k https://x | sh\nFROM x\n"]
        );
        assert_eq!(df.instructions[2].heredocs.len(), 0);
    }

    #[test]
    fn env_and_arg_forms() {
        assert_eq!(
            parse_env_pairs("A=1 B=\"two words\""),
            [("A".into(), "1".into()), ("B".into(), "two words".into())]
        );
        assert_eq!(
            parse_env_pairs("PATH /usr/bin:/bin"),
            [("PATH".into(), "/usr/bin:/bin".into())]
        );
        assert_eq!(
            parse_arg_decls("V=1 W"),
            [("V".into(), Some("1".into())), ("W".into(), None)]
        );
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "\\",
            "RUN \\",
            "FROM",
            "RUN <<",
            "RUN <<EOF",
            "\u{0}\u{1}",
            "# escape=\n",
            "CMD [\"a",
        ] {
            let _ = Dockerfile::parse(text);
        }
    }
}
