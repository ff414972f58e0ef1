//! Just enough shell to read `RUN` lines: words with quotes removed, split into pipelines
//! of simple commands. Not a shell interpreter: no expansion, no redirection semantics.

/// Splits on whitespace, honouring single and double quotes and backslash escapes.
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// A pipeline: commands joined by `|`.
pub type Pipeline = Vec<Vec<String>>;

/// Splits a script into pipelines (separated by `&&`, `||`, `;`, newlines) of commands.
pub fn pipelines(script: &str) -> Vec<Pipeline> {
    let mut result = Vec::new();
    let mut pipeline: Pipeline = Vec::new();
    let mut cmd = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    let flush_cmd = |cmd: &mut String, pipeline: &mut Pipeline| {
        let w = words(cmd);
        if !w.is_empty() {
            pipeline.push(w);
        }
        cmd.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == '\\' && q == '"' && i + 1 < chars.len() {
                cmd.push(c);
                i += 1;
                cmd.push(chars[i]);
                i += 1;
                continue;
            }
            cmd.push(c);
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' => {
                quote = Some(c);
                cmd.push(c);
            }
            '\\' if next.is_some() => {
                cmd.push(c);
                cmd.push(chars[i + 1]);
                i += 1;
            }
            '&' if next == Some('&') => {
                flush_cmd(&mut cmd, &mut pipeline);
                result.push(std::mem::take(&mut pipeline));
                i += 1;
            }
            '|' if next == Some('|') => {
                flush_cmd(&mut cmd, &mut pipeline);
                result.push(std::mem::take(&mut pipeline));
                i += 1;
            }
            '|' => flush_cmd(&mut cmd, &mut pipeline),
            ';' | '\n' | '(' | ')' | '{' | '}' | '`' => {
                flush_cmd(&mut cmd, &mut pipeline);
                result.push(std::mem::take(&mut pipeline));
            }
            _ => cmd.push(c),
        }
        i += 1;
    }
    flush_cmd(&mut cmd, &mut pipeline);
    result.push(pipeline);
    result.retain(|p| !p.is_empty());
    result
}

/// Every simple command of a script, with leading `sudo`, `env VAR=x`, `VAR=x` and
/// `exec` removed so that checks see the program that really runs.
pub fn commands(script: &str) -> Vec<Vec<String>> {
    pipelines(script)
        .into_iter()
        .flatten()
        .map(|c| strip_wrappers(&c).to_vec())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The command without wrappers such as `sudo -E`, `env A=1`, `A=1`, `exec`, `nohup`.
pub fn strip_wrappers(cmd: &[String]) -> &[String] {
    let mut rest = cmd;
    loop {
        match rest.first().map(String::as_str) {
            Some("sudo" | "doas") => {
                rest = &rest[1..];
                while rest.first().is_some_and(|w| w.starts_with('-')) {
                    let flag = rest[0].as_str();
                    rest = &rest[1..];
                    // Options of sudo that take a value.
                    if matches!(flag, "-u" | "-g" | "-C" | "-h" | "-p" | "-U") && !rest.is_empty() {
                        rest = &rest[1..];
                    }
                }
            }
            Some("env" | "exec" | "nohup" | "command" | "time") => rest = &rest[1..],
            Some(w)
                if w.contains('=')
                    && !w.starts_with('-')
                    && w.split('=').next().is_some_and(is_var_name) =>
            {
                rest = &rest[1..]
            }
            _ => return rest,
        }
    }
}

fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The program name without its directory (`/usr/bin/curl` → `curl`).
pub fn program(cmd: &[String]) -> &str {
    cmd.first()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_pipelines() {
        assert_eq!(
            words(r#"a 'b c' "d \" e" f\ g"#),
            ["a", "b c", "d \" e", "f g"]
        );
        let p = pipelines("curl -fsSL 'http://x/a|b' | sudo bash -s && echo ok; ls || true");
        assert_eq!(p.len(), 4);
        assert_eq!(p[0].len(), 2);
        assert_eq!(p[0][0][2], "http://x/a|b");
        assert_eq!(strip_wrappers(&p[0][1]), ["bash", "-s"]);
        let c =
            commands("DEBIAN_FRONTEND=noninteractive sudo -u root /usr/bin/apt-get install -y x");
        assert_eq!(program(&c[0]), "apt-get");
    }
}
