//! The final tree dump (docs/otp/oracle.md#oracle-tree).

use arbor_process::Pid;
use arbor_supervisor::{ChildState, ChildType};

use super::{Driver, Fail};
use crate::recorder::Part;
use crate::result::child_entry;
use crate::term::Term;

impl Driver {
    pub(super) async fn print_tree(&mut self) -> Result<(), Fail> {
        let mut live = Vec::new();
        for top in &self.tops {
            if let Some((pid, true)) = self.w.rec.lookup(top).await? {
                live.push((pid, top.clone()));
            }
        }
        if live.is_empty() {
            self.w
                .rec
                .line(vec![Part::Text("tree none".into())])
                .await?;
        }
        for (pid, path) in live {
            self.print_sup(pid, path).await?;
        }
        Ok(())
    }

    fn print_sup(
        &self,
        pid: Pid,
        path: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Fail>> + '_>> {
        Box::pin(async move {
            let rec = &self.w.rec;
            let Some(info) = rec.whois(pid).await? else {
                return Err(Fail::Internal(format!("unknown supervisor {pid}")));
            };
            let Some(s) = self.sup_ref(pid) else {
                return Err(Fail::Internal(format!("no handle for {}", info.id)));
            };
            rec.line(vec![
                Part::Text(format!("tree {path} sup=")),
                Part::Term(Term::Pid(pid)),
            ])
            .await?;
            let list = match self.children(&info.id, &s).await.map_err(|f| f.0)? {
                Ok(l) => l,
                Err(t) => {
                    return Err(Fail::Internal(format!(
                        "which_children of {} failed: {t}",
                        info.id
                    )));
                }
            };
            for c in &list {
                let Term::Tuple(items) = child_entry(c) else {
                    continue;
                };
                let [id, child, ty] = <[Term; 3]>::try_from(items).map_err(|_| {
                    Fail::Internal("a which_children entry is not a 3-tuple".into())
                })?;
                rec.line(vec![
                    Part::Text(format!("tree {path} id=")),
                    Part::Term(id),
                    Part::Text(" child=".into()),
                    Part::Term(child),
                    Part::Text(" type=".into()),
                    Part::Term(ty),
                ])
                .await?;
                // The subtree of a running supervisor child comes right
                // after the child's own line.
                // (v2) An instance of a supervisor template has no id: its
                // path element is its trace name `<tmpl>#<k>`.
                if let (ChildState::Running(p), ChildType::Supervisor) = (&c.state, c.child_type) {
                    let name = match rec.whois(*p).await? {
                        Some(i) => i.id,
                        None => {
                            c.id.as_ref()
                                .map(|i| i.as_str().to_owned())
                                .unwrap_or_default()
                        }
                    };
                    self.print_sup(*p, format!("{path}/{name}")).await?;
                }
            }
            Ok(())
        })
    }
}
