//! Inventories from and to other tools: OpenSSH client config (import),
//! Ansible INI and YAML inventories (import), Ansible YAML (export).
//! Pure text in, hosts out (and back): the store writes them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::model::Host;

/// What an import found: hosts in order of first appearance, and notes for
/// the user (what was ignored and why).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Imported {
    pub hosts: Vec<Host>,
    pub notes: Vec<String>,
}

// ------------------------------------------------------------ ssh config

/// Shell-style match of one path component (`*`, `?`, `[...]`).
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| glob_match(rest, &name[i..])),
        Some(('?', rest)) => !name.is_empty() && glob_match(rest, &name[1..]),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().position(|&c| c == ']') else {
                return name.first() == Some(&'[') && glob_match(rest, &name[1..]);
            };
            let Some(&c) = name.first() else {
                return false;
            };
            let (negate, set) = match rest[..close].split_first() {
                Some(('!', s)) | Some(('^', s)) => (true, s),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_match(&rest[close + 1..], &name[1..])
        }
        Some((&p, rest)) => name.first() == Some(&p) && glob_match(rest, &name[1..]),
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand a path with glob characters, sorted like glob(3). Hidden files
/// are matched only by a pattern that starts with a dot.
fn expand_glob(path: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    for comp in path.components() {
        let part = comp.as_os_str().to_string_lossy().into_owned();
        if !has_glob(&part) {
            for c in &mut current {
                c.push(&part);
            }
            continue;
        }
        let pat: Vec<char> = part.chars().collect();
        let mut next = Vec::new();
        for dir in &current {
            let read_from = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(entries) = std::fs::read_dir(read_from) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') || part.starts_with('.'))
                .filter(|n| glob_match(&pat, &n.chars().collect::<Vec<_>>()))
                .collect();
            names.sort();
            for n in names {
                next.push(dir.join(n));
            }
        }
        current = next;
    }
    current.into_iter().filter(|p| p.exists()).collect()
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
}

fn expand_tilde(s: &str) -> PathBuf {
    if s == "~" {
        if let Some(h) = home_dir() {
            return h;
        }
    }
    if let Some(rest) = s.strip_prefix("~/") {
        if let Some(h) = home_dir() {
            return h.join(rest);
        }
    }
    PathBuf::from(s)
}

/// Split an ssh_config line into keyword and arguments (`Key value`,
/// `Key=value`, double-quoted arguments).
fn ssh_words(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let split = line.find(|c: char| c.is_whitespace() || c == '=')?;
    let key = line[..split].to_ascii_lowercase();
    let mut rest = line[split..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '"' => {
                in_quote = !in_quote;
                any = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            '#' if !in_quote && !any => break,
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    Some((key, args))
}

/// Every concrete `Host` alias of an OpenSSH client config (and the files
/// it `Include`s), in order, each once. Patterns (`*`, `?`, `!`) are left
/// out: they are not hosts.
pub fn ssh_config_aliases(path: &Path) -> Result<Imported, String> {
    let mut out = Imported::default();
    let mut seen = HashSet::new();
    let mut visiting = Vec::new();
    read_ssh_config(path, &mut out, &mut seen, &mut visiting, 0)?;
    Ok(out)
}

fn read_ssh_config(
    path: &Path,
    out: &mut Imported,
    seen: &mut HashSet<String>,
    visiting: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Err(format!("{}: Include nested too deeply", path.display()));
    }
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if visiting.contains(&canonical) {
        out.notes.push(format!(
            "{}: included twice in a loop; skipped",
            path.display()
        ));
        return Ok(());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    visiting.push(canonical);
    let mut skipped_patterns = Vec::new();
    for line in text.lines() {
        let Some((key, args)) = ssh_words(line) else {
            continue;
        };
        match key.as_str() {
            "host" => {
                for a in args {
                    if a.contains(['*', '?', '!']) {
                        skipped_patterns.push(a);
                    } else if seen.insert(a.clone()) {
                        out.hosts.push(Host {
                            name: a,
                            ..Default::default()
                        });
                    }
                }
            }
            "include" => {
                for a in args {
                    let p = expand_tilde(&a);
                    // Relative to ~/.ssh, as OpenSSH does for user configs.
                    let p = if p.is_relative() {
                        match home_dir() {
                            Some(h) => h.join(".ssh").join(p),
                            None => p,
                        }
                    } else {
                        p
                    };
                    let files = if has_glob(&p.to_string_lossy()) {
                        expand_glob(&p)
                    } else {
                        vec![p.clone()]
                    };
                    for f in files {
                        if f.is_file() {
                            read_ssh_config(&f, out, seen, visiting, depth + 1)?;
                        } else if !has_glob(&p.to_string_lossy()) {
                            out.notes.push(format!(
                                "{}: Include {} not found; skipped",
                                path.display(),
                                f.display()
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !skipped_patterns.is_empty() {
        out.notes.push(format!(
            "{}: patterns are not hosts, skipped: {}",
            path.display(),
            skipped_patterns.join(" ")
        ));
    }
    visiting.pop();
    Ok(())
}

// ------------------------------------------------------------ ansible

/// Expand Ansible host ranges: `web[01:03]`, `db-[a:c]`, `n[0:10:5]`.
pub fn expand_range(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("`{pattern}`: `[` without `]`"))?;
    let inner = &pattern[open + 1..close];
    let parts: Vec<&str> = inner.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return Err(format!(
            "`{pattern}`: a range is [start:end] or [start:end:step]"
        ));
    }
    let step: usize = match parts.get(2) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("`{pattern}`: bad step `{s}`"))?,
        None => 1,
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let tails = expand_range(tail)?;
    let mut items = Vec::new();
    let (a, b) = (parts[0], parts[1]);
    if let (Ok(start), Ok(end)) = (a.parse::<u64>(), b.parse::<u64>()) {
        if end < start || end - start > 100_000 {
            return Err(format!("`{pattern}`: bad range"));
        }
        let width = if a.starts_with('0') && a.len() > 1 {
            a.len()
        } else {
            0
        };
        let mut n = start;
        while n <= end {
            items.push(format!("{n:0width$}"));
            match n.checked_add(step as u64) {
                Some(next) => n = next,
                None => break,
            }
        }
    } else if a.len() == 1 && b.len() == 1 {
        let (s, e) = (a.as_bytes()[0], b.as_bytes()[0]);
        if !(s.is_ascii_alphabetic() && e.is_ascii_alphabetic()) || e < s {
            return Err(format!("`{pattern}`: bad range"));
        }
        let mut c = u32::from(s);
        while c <= u32::from(e) {
            items.push(char::from_u32(c).unwrap_or('?').to_string());
            c = c.saturating_add(u32::try_from(step).unwrap_or(u32::MAX));
        }
    } else {
        return Err(format!("`{pattern}`: bad range"));
    }
    let mut out = Vec::new();
    for i in items {
        for t in &tails {
            out.push(format!("{head}{i}{t}"));
        }
    }
    Ok(out)
}

/// The jump host named in `ansible_ssh_common_args`: `-o ProxyJump=X`,
/// `-o 'ProxyJump=X'`, `-o ProxyJump X`, `-oProxyJump=X`, `-J X` (the
/// other options there are not opsdeck's to keep: `-F`, known hosts files).
pub fn jump_from_common_args(args: &str) -> Option<String> {
    let words = ini_words(args);
    let mut it = words.iter().peekable();
    while let Some(w) = it.next() {
        let value = if w == "-J" {
            it.next().cloned()
        } else if let Some(j) = w.strip_prefix("-J").filter(|j| !j.is_empty()) {
            Some(j.to_string())
        } else {
            let opt = if w == "-o" {
                it.next().cloned()
            } else {
                w.strip_prefix("-o").map(str::to_string)
            };
            match opt {
                Some(kv) => match kv.split_once(['=', ' ']) {
                    Some((k, v)) if k.eq_ignore_ascii_case("proxyjump") => {
                        Some(v.trim().to_string())
                    }
                    None if kv.eq_ignore_ascii_case("proxyjump") => it.next().cloned(),
                    _ => None,
                },
                None => None,
            }
        };
        if let Some(v) = value.filter(|v| !v.is_empty() && !v.contains(char::is_whitespace)) {
            return Some(v);
        }
    }
    None
}

/// Collects hosts, their groups and variables while reading an inventory.
#[derive(Default)]
struct Builder {
    order: Vec<String>,
    vars: BTreeMap<String, BTreeMap<String, String>>,
    /// group -> direct hosts
    group_hosts: BTreeMap<String, Vec<String>>,
    /// group -> child groups
    children: BTreeMap<String, Vec<String>>,
    group_order: Vec<String>,
    notes: Vec<String>,
    ignored_vars: BTreeMap<String, Vec<String>>,
    /// group -> its variables (`[g:vars]`, `vars:`), in file order
    group_vars: BTreeMap<String, Vec<(String, String)>>,
}

impl Builder {
    fn group(&mut self, g: &str) {
        if !self.group_order.iter().any(|x| x == g) {
            self.group_order.push(g.to_string());
        }
    }
    fn host(&mut self, group: &str, name: &str, vars: Vec<(String, String)>) {
        if !self.vars.contains_key(name) {
            self.order.push(name.to_string());
            self.vars.insert(name.to_string(), BTreeMap::new());
        }
        self.group(group);
        let members = self.group_hosts.entry(group.to_string()).or_default();
        if !members.iter().any(|m| m == name) {
            members.push(name.to_string());
        }
        if let Some(hv) = self.vars.get_mut(name) {
            for (k, v) in vars {
                hv.entry(k).or_insert(v);
            }
        }
    }
    fn group_var(&mut self, group: &str, key: String, value: String) {
        self.group(group);
        let vars = self.group_vars.entry(group.to_string()).or_default();
        vars.retain(|(k, _)| *k != key);
        vars.push((key, value));
    }

    /// How deep a group is below `all` (all: 0, top level: 1, a child one
    /// more than its deepest parent): deeper groups' variables win, as in
    /// Ansible.
    fn depth(&self, group: &str, seen: &mut Vec<String>) -> usize {
        if group == "all" || seen.iter().any(|g| g == group) {
            return 0;
        }
        seen.push(group.to_string());
        let d = self
            .children
            .iter()
            .filter(|(p, kids)| kids.iter().any(|k| k == group) && p.as_str() != "all")
            .map(|(p, _)| self.depth(p, seen))
            .max()
            .map_or(1, |d| d + 1);
        seen.pop();
        d
    }

    /// A host's variables as Ansible computes them: `all`'s, then its
    /// groups' from the shallowest to the deepest (by name at one depth),
    /// then its own.
    fn effective_vars(&self, host: &str) -> BTreeMap<String, String> {
        let mut groups: Vec<(usize, String)> = self
            .groups_of_all(host)
            .into_iter()
            .map(|g| (self.depth(&g, &mut Vec::new()), g))
            .collect();
        groups.sort();
        let mut vars = BTreeMap::new();
        for (_, g) in &groups {
            for (k, v) in self.group_vars.get(g).into_iter().flatten() {
                vars.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in self.vars.get(host).into_iter().flatten() {
            vars.insert(k.clone(), v.clone());
        }
        vars
    }

    fn child(&mut self, parent: &str, child: &str) {
        self.group(parent);
        self.group(child);
        let c = self.children.entry(parent.to_string()).or_default();
        if !c.iter().any(|x| x == child) {
            c.push(child.to_string());
        }
    }

    /// Every group containing `host` (with `all`), for its variables.
    fn groups_of_all(&self, host: &str) -> Vec<String> {
        let mut g = self.member_groups(host);
        if !g.iter().any(|x| x == "all") {
            g.push("all".into());
        }
        g
    }

    /// Groups containing `host` as tags (not `all` and `ungrouped`).
    fn groups_of(&self, host: &str) -> Vec<String> {
        self.member_groups(host)
            .into_iter()
            .filter(|g| g != "all" && g != "ungrouped")
            .collect()
    }

    /// Groups containing `host`, directly or through children.
    fn member_groups(&self, host: &str) -> Vec<String> {
        let mut member: HashSet<&str> = self
            .group_hosts
            .iter()
            .filter(|(_, hs)| hs.iter().any(|h| h == host))
            .map(|(g, _)| g.as_str())
            .collect();
        // Parents of member groups, to a fixed point.
        loop {
            let before = member.len();
            for (parent, kids) in &self.children {
                if kids.iter().any(|k| member.contains(k.as_str())) {
                    member.insert(parent.as_str());
                }
            }
            if member.len() == before {
                break;
            }
        }
        self.group_order
            .iter()
            .filter(|g| member.contains(g.as_str()))
            .cloned()
            .collect()
    }

    fn finish(mut self) -> Imported {
        let mut hosts = Vec::new();
        for name in &self.order {
            let mut h = Host {
                name: name.clone(),
                tags: self.groups_of(name),
                ..Default::default()
            };
            for (k, v) in self.effective_vars(name) {
                match k.as_str() {
                    "ansible_host" | "ansible_ssh_host" => h.address = Some(v),
                    "ansible_port" | "ansible_ssh_port" => match v.parse::<u16>() {
                        Ok(p) if p > 0 => h.port = Some(p),
                        _ => self
                            .notes
                            .push(format!("{name}: ansible_port `{v}` is not a port; ignored")),
                    },
                    "ansible_user" | "ansible_ssh_user" => h.user = Some(v),
                    "ansible_ssh_common_args" => match jump_from_common_args(&v) {
                        Some(j) => h.jump = Some(j),
                        None => self.notes.push(format!(
                            "{name}: ansible_ssh_common_args `{v}` names no ProxyJump; ignored"
                        )),
                    },
                    _ => self.ignored_vars.entry(k).or_default().push(name.clone()),
                }
            }
            hosts.push(h);
        }
        let mut notes = self.notes;
        for (var, hs) in self.ignored_vars {
            notes.push(format!(
                "host variable `{var}` ignored ({} host{})",
                hs.len(),
                if hs.len() == 1 { "" } else { "s" }
            ));
        }
        Imported { hosts, notes }
    }
}

/// Split an INI host line into words, keeping quoted values together.
fn ini_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, '#') if !any => break,
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// An Ansible INI inventory.
pub fn parse_ansible_ini(text: &str) -> Result<Imported, String> {
    let mut b = Builder::default();
    #[derive(PartialEq)]
    enum Section {
        Hosts(String),
        Children(String),
        Vars(String),
    }
    let mut section = Section::Hosts("ungrouped".into());
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let lineno = n + 1;
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            let Some(end) = line.find(']') else {
                return Err(format!("line {lineno}: `[` without `]`"));
            };
            let name = &line[1..end];
            section = match name.split_once(':') {
                Some((g, "children")) => Section::Children(g.to_string()),
                Some((g, "vars")) => Section::Vars(g.to_string()),
                Some((_, other)) => {
                    return Err(format!("line {lineno}: unknown section kind `:{other}`"))
                }
                None => {
                    b.group(name);
                    Section::Hosts(name.to_string())
                }
            };
            continue;
        }
        match &section {
            Section::Vars(group) => {
                let group = group.clone();
                let Some((k, v)) = line.split_once('=') else {
                    return Err(format!(
                        "line {lineno}: `{line}` is not a key=value group variable"
                    ));
                };
                let value = ini_words(v.trim()).into_iter().next().unwrap_or_default();
                b.group_var(&group, k.trim().to_string(), value);
            }
            Section::Children(parent) => {
                let parent = parent.clone();
                b.child(&parent, line);
            }
            Section::Hosts(group) => {
                let group = group.clone();
                let words = ini_words(line);
                let Some((first, rest)) = words.split_first() else {
                    continue;
                };
                let mut vars = Vec::new();
                for w in rest {
                    match w.split_once('=') {
                        Some((k, v)) => vars.push((k.to_string(), v.to_string())),
                        None => {
                            return Err(format!(
                                "line {lineno}: `{w}` is not a key=value host variable"
                            ))
                        }
                    }
                }
                let (pattern, port) = split_host_port(first);
                if let Some(p) = port {
                    vars.push(("ansible_port".into(), p));
                }
                for name in expand_range(&pattern).map_err(|e| format!("line {lineno}: {e}"))? {
                    b.host(&group, &name, vars.clone());
                }
            }
        }
    }
    Ok(b.finish())
}

/// `host:port` (not inside a range's brackets, not IPv6) → (host, port).
fn split_host_port(pattern: &str) -> (String, Option<String>) {
    match pattern.rsplit_once(':') {
        Some((h, p))
            if !h.contains(':')
                && !p.contains(']')
                && p.chars().all(|c| c.is_ascii_digit())
                && !p.is_empty() =>
        {
            (h.to_string(), Some(p.to_string()))
        }
        _ => (pattern.to_string(), None),
    }
}

fn yaml_scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn yaml_group(b: &mut Builder, name: &str, node: &Yaml, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("groups nested too deeply".into());
    }
    b.group(name);
    let map = match node {
        Yaml::Hash(m) => m,
        Yaml::Null => return Ok(()),
        _ => return Err(format!("group `{name}` is not a mapping")),
    };
    for (k, v) in map {
        let key = yaml_scalar(k).unwrap_or_default();
        match key.as_str() {
            "hosts" => {
                // a string is read as one key with no value, as Ansible does
                let one;
                let hosts = match v {
                    Yaml::Hash(h) => h,
                    Yaml::Null => continue,
                    Yaml::String(_) => {
                        let mut m = yaml_rust2::yaml::Hash::new();
                        m.insert(v.clone(), Yaml::Null);
                        one = m;
                        &one
                    }
                    _ => return Err(format!("`{name}.hosts` is not a mapping")),
                };
                for (hk, hv) in hosts {
                    let Some(pattern) = yaml_scalar(hk) else {
                        return Err(format!("a host name of `{name}` is not a string"));
                    };
                    let mut vars = Vec::new();
                    match hv {
                        Yaml::Hash(vm) => {
                            for (vk, vv) in vm {
                                let Some(vk) = yaml_scalar(vk) else { continue };
                                match yaml_scalar(vv) {
                                    Some(s) => vars.push((vk, s)),
                                    None => vars.push((vk, String::new())),
                                }
                            }
                        }
                        // `web1:` and `web1: ""`: a host with no variables
                        Yaml::Null => {}
                        Yaml::String(s) if s.is_empty() => {}
                        _ => {
                            return Err(format!(
                                "host `{pattern}` of `{name}`: vars are not a mapping"
                            ))
                        }
                    }
                    let (pattern, port) = split_host_port(&pattern);
                    if let Some(p) = port {
                        vars.push(("ansible_port".into(), p));
                    }
                    for h in expand_range(&pattern)? {
                        b.host(name, &h, vars.clone());
                    }
                }
            }
            "children" => {
                let one;
                let kids = match v {
                    Yaml::Hash(h) => h,
                    Yaml::Null => continue,
                    Yaml::String(_) => {
                        let mut m = yaml_rust2::yaml::Hash::new();
                        m.insert(v.clone(), Yaml::Null);
                        one = m;
                        &one
                    }
                    _ => return Err(format!("`{name}.children` is not a mapping")),
                };
                for (ck, cv) in kids {
                    let Some(child) = yaml_scalar(ck) else {
                        return Err(format!("a child group of `{name}` is not a string"));
                    };
                    b.child(name, &child);
                    // a child that is not a mapping is still a (empty) group
                    let cv = match cv {
                        Yaml::Hash(_) | Yaml::Null => cv,
                        _ => &Yaml::Null,
                    };
                    yaml_group(b, &child, cv, depth + 1)?;
                }
            }
            "vars" => match v {
                Yaml::Hash(vm) => {
                    for (vk, vv) in vm {
                        if let Some(vk) = yaml_scalar(vk) {
                            b.group_var(name, vk, yaml_scalar(vv).unwrap_or_default());
                        }
                    }
                }
                Yaml::Null => {}
                _ => return Err(format!("`{name}.vars` is not a mapping")),
            },
            other => b
                .notes
                .push(format!("group `{name}`: unknown key `{other}` ignored")),
        }
    }
    Ok(())
}

/// An Ansible YAML inventory (`all:` / `children:` / `hosts:` / `vars:`).
pub fn parse_ansible_yaml(text: &str) -> Result<Imported, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let Some(doc) = docs.first() else {
        return Ok(Imported::default());
    };
    let Yaml::Hash(top) = doc else {
        if matches!(doc, Yaml::Null) {
            return Ok(Imported::default());
        }
        return Err("the inventory is not a mapping of groups".into());
    };
    let mut b = Builder::default();
    for (k, v) in top {
        let Some(name) = yaml_scalar(k) else {
            return Err("a top-level group name is not a string".into());
        };
        yaml_group(&mut b, &name, v, 0)?;
    }
    Ok(b.finish())
}

/// INI or YAML, by extension, else by content.
pub fn parse_ansible(path: &Path, text: &str) -> Result<Imported, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "yml" | "yaml" => parse_ansible_yaml(text),
        "ini" | "cfg" => parse_ansible_ini(text),
        _ => {
            let looks_yaml = matches!(
                YamlLoader::load_from_str(text).ok().as_deref(),
                Some([Yaml::Hash(_), ..])
            );
            if looks_yaml {
                parse_ansible_yaml(text)
            } else {
                parse_ansible_ini(text)
            }
        }
    }
}

// ------------------------------------------------------------ export

/// A YAML scalar: plain when unambiguous, else double-quoted (JSON escapes
/// are valid YAML).
pub fn yaml_quote(s: &str) -> String {
    let plain_chars = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
        && !s.starts_with(['-', '.', '@']);
    let reserved = matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    );
    let numeric = s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o")
        || s.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '_');
    if plain_chars && !reserved && !numeric {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{}\"", s.escape_default()))
    }
}

/// A host's connection as OpenSSH resolves it (`ssh -G` through the
/// configured `[ssh] config_file`, then hosts.toml's overrides): what the
/// export gives Ansible so it reaches exactly the host opsdeck reaches,
/// whatever config file opsdeck was told to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportConn {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The key file to log in with (the first that exists).
    pub identity: Option<String>,
    /// Options for `ansible_ssh_common_args` (`-F FILE`, known hosts, ProxyJump).
    pub ssh_args: Vec<String>,
}

impl ExportConn {
    /// From the engine's resolution of a host.
    pub fn from_resolved(r: &crate::ssh::Resolved, config_file: Option<&Path>) -> ExportConn {
        let mut ssh_args = Vec::new();
        if let Some(cfg) = config_file {
            // jump hosts and `Host *` options resolve as opsdeck resolves them
            ssh_args.push(format!(
                "-F {}",
                crate::util::shell_quote(&cfg.to_string_lossy())
            ));
        }
        if !r.known_hosts_files.is_empty() && !default_known_hosts(&r.known_hosts_files) {
            let files: Vec<String> = r
                .known_hosts_files
                .iter()
                .map(|f| f.to_string_lossy().into_owned())
                .collect();
            ssh_args.push(format!(
                "-o {}",
                crate::util::shell_quote(&format!("UserKnownHostsFile={}", files.join(" ")))
            ));
        }
        if r.identities_only {
            ssh_args.push("-o IdentitiesOnly=yes".into());
        }
        if !r.jumps.is_empty() {
            // the hops as named (aliases of the SSH config, or user@host:port):
            // ssh gives its `-F` to the jump's own ssh, which resolves them
            // with their keys and known hosts as opsdeck does
            let hops: Vec<String> = r.jumps.iter().map(|j| j.alias.clone()).collect();
            ssh_args.push(format!(
                "-o {}",
                crate::util::shell_quote(&format!("ProxyJump={}", hops.join(",")))
            ));
        }
        ExportConn {
            host: r.hostname.clone(),
            port: r.port,
            user: r.user.clone(),
            identity: r
                .identity_files
                .iter()
                .find(|p| p.is_file())
                .map(|p| p.to_string_lossy().into_owned()),
            ssh_args,
        }
    }
}

/// OpenSSH's own default list: nothing to tell Ansible's ssh.
fn default_known_hosts(files: &[std::path::PathBuf]) -> bool {
    let defaults = [
        expand_tilde("~/.ssh/known_hosts"),
        expand_tilde("~/.ssh/known_hosts2"),
        PathBuf::from("/etc/ssh/ssh_known_hosts"),
        PathBuf::from("/etc/ssh/ssh_known_hosts2"),
    ];
    files == defaults || files == &defaults[..2]
}

fn host_vars(h: &Host, conn: Option<&ExportConn>) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(c) = conn {
        v.push(("ansible_host", yaml_quote(&c.host)));
        v.push(("ansible_port", c.port.to_string()));
        v.push(("ansible_user", yaml_quote(&c.user)));
        if let Some(k) = &c.identity {
            v.push(("ansible_ssh_private_key_file", yaml_quote(k)));
        }
        if !c.ssh_args.is_empty() {
            v.push(("ansible_ssh_common_args", yaml_quote(&c.ssh_args.join(" "))));
        }
        return v;
    }
    if let Some(a) = &h.address {
        v.push(("ansible_host", yaml_quote(a)));
    }
    if let Some(p) = h.port {
        v.push(("ansible_port", p.to_string()));
    }
    if let Some(u) = &h.user {
        v.push(("ansible_user", yaml_quote(u)));
    }
    if let Some(j) = &h.jump {
        v.push((
            "ansible_ssh_common_args",
            yaml_quote(&format!("-o ProxyJump={}", crate::util::shell_quote(j))),
        ));
    }
    v
}

fn write_host(out: &mut String, indent: &str, h: &Host, vars: Vec<(&'static str, String)>) {
    out.push_str(indent);
    out.push_str(&yaml_quote(&h.name));
    out.push_str(":\n");
    for (k, v) in vars {
        out.push_str(&format!("{indent}  {k}: {v}\n"));
    }
}

/// [`export_ansible_resolved`] with the connection settings of hosts.toml only.
pub fn export_ansible(hosts: &[Host]) -> String {
    export_ansible_resolved(hosts, &BTreeMap::new())
}

/// An Ansible YAML inventory: tags become groups under `all.children`,
/// hosts without tags go under `all.hosts`, connection settings become host
/// variables (given once, where the host first appears). Groups and hosts
/// are sorted by name, so the output does not depend on the order of
/// hosts.toml (export, import, export gives the same bytes). A host with a
/// resolved connection in `conns` is exported with it (see [`ExportConn`]).
pub fn export_ansible_resolved(hosts: &[Host], conns: &BTreeMap<String, ExportConn>) -> String {
    let mut sorted: Vec<&Host> = hosts.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = format!(
        "# Ansible inventory written by `opsdeck export ansible` ({} host{}).\n# Check it with: ansible-inventory -i FILE --list\n",
        sorted.len(),
        if sorted.len() == 1 { "" } else { "s" }
    );
    let untagged: Vec<&Host> = sorted
        .iter()
        .copied()
        .filter(|h| h.tags.is_empty())
        .collect();
    let mut groups: BTreeMap<&str, Vec<&Host>> = BTreeMap::new();
    for h in &sorted {
        for t in &h.tags {
            let members = groups.entry(t.as_str()).or_default();
            if !members.iter().any(|m| m.name == h.name) {
                members.push(h);
            }
        }
    }
    out.push_str("all:\n");
    if untagged.is_empty() && groups.is_empty() {
        out.push_str("  hosts: {}\n");
        return out;
    }
    if !untagged.is_empty() {
        out.push_str("  hosts:\n");
        for h in &untagged {
            write_host(&mut out, "    ", h, host_vars(h, conns.get(&h.name)));
        }
    }
    if !groups.is_empty() {
        out.push_str("  children:\n");
        let mut done: HashSet<&str> = HashSet::new();
        for (g, members) in &groups {
            out.push_str(&format!("    {}:\n      hosts:\n", yaml_quote(g)));
            for h in members {
                let vars = if done.insert(h.name.as_str()) {
                    host_vars(h, conns.get(&h.name))
                } else {
                    Vec::new()
                };
                write_host(&mut out, "        ", h, vars);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            expand_range("web[01:03]").unwrap(),
            ["web01", "web02", "web03"]
        );
        assert_eq!(
            expand_range("db-[a:c].x").unwrap(),
            ["db-a.x", "db-b.x", "db-c.x"]
        );
        assert_eq!(expand_range("n[0:10:5]").unwrap(), ["n0", "n5", "n10"]);
        assert_eq!(
            expand_range("r[1:2]c[1:2]").unwrap(),
            ["r1c1", "r1c2", "r2c1", "r2c2"]
        );
        assert!(expand_range("x[3:1]").is_err());
        assert_eq!(expand_range("x[a:z:300]").unwrap(), ["xa"]);
        assert_eq!(
            expand_range("x[18446744073709551614:18446744073709551615:7]").unwrap(),
            ["x18446744073709551614"]
        );
        assert!(expand_range("x[1:").is_err());
    }

    #[test]
    fn globbing() {
        let m = |p: &str, n: &str| {
            glob_match(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf~"));
        assert!(m("h?st", "host"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
    }

    #[test]
    fn jumps() {
        assert_eq!(
            jump_from_common_args("-o ProxyJump=bastion").as_deref(),
            Some("bastion")
        );
        assert_eq!(
            jump_from_common_args("-o 'ProxyJump=admin@b:2222'").as_deref(),
            Some("admin@b:2222")
        );
        assert_eq!(jump_from_common_args("-J b1,b2").as_deref(), Some("b1,b2"));
        // the jump is found among other options (which are not opsdeck's)
        assert_eq!(
            jump_from_common_args("-F /x/cfg -o 'UserKnownHostsFile=/a /b' -o ProxyJump=u@b:22,c")
                .as_deref(),
            Some("u@b:22,c")
        );
        assert_eq!(jump_from_common_args("-oProxyJump=b").as_deref(), Some("b"));
        assert_eq!(jump_from_common_args("-o StrictHostKeyChecking=no"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(yaml_quote("web1"), "web1");
        assert_eq!(yaml_quote("10.0.0.5"), "\"10.0.0.5\"");
        assert_eq!(yaml_quote("yes"), "\"yes\"");
        assert_eq!(yaml_quote("a b"), "\"a b\"");
        assert_eq!(yaml_quote("it's \"x\""), "\"it's \\\"x\\\"\"");
        assert_eq!(yaml_quote("-o ProxyJump=b"), "\"-o ProxyJump=b\"");
        assert_eq!(yaml_quote("123"), "\"123\"");
        assert_eq!(yaml_quote(""), "\"\"");
    }

    #[test]
    fn ssh_words_split() {
        assert_eq!(
            ssh_words("  Host a b  # c"),
            Some(("host".into(), vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            ssh_words("HostName=x.example"),
            Some(("hostname".into(), vec!["x.example".into()]))
        );
        assert_eq!(
            ssh_words("Include \"my dir/*.conf\""),
            Some(("include".into(), vec!["my dir/*.conf".into()]))
        );
        assert_eq!(ssh_words("# comment"), None);
    }

    #[test]
    fn ini_children_are_transitive_tags() {
        let got = parse_ansible_ini(
            "solo\n[web]\nweb[1:2] ansible_user=deploy\n[prod:children]\nweb\n[prod:vars]\nx=1\n",
        )
        .unwrap();
        let names: Vec<_> = got.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["solo", "web1", "web2"]);
        assert!(got.hosts[0].tags.is_empty());
        assert_eq!(got.hosts[1].tags, ["web", "prod"]);
        assert_eq!(got.hosts[1].user.as_deref(), Some("deploy"));
        assert!(
            got.notes.iter().any(|n| n.contains("`x`")),
            "{:?}",
            got.notes
        );
    }
}
