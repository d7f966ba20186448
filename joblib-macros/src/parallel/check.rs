//! What a parallel loop's body cannot do: its iterations run on other threads, so nothing may
//! jump out of one. `break`, `return` and a labelled `continue` that leave the body are errors
//! at their token; those that target a loop or block inside the body are ordinary code.

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{ExprForLoop, Label, Lifetime};

use crate::ctxt::Ctxt;

/// Records every jump out of the parallel loop `for_loop`, and a label on it.
pub(crate) fn check_body(ctxt: &Ctxt, for_loop: &ExprForLoop) {
    if let Some(label) = &for_loop.label {
        ctxt.error(
            label.name.span(),
            "a parallel loop cannot have a label: its iterations run on other threads, nothing can jump to it",
        );
    }
    let mut finder = Jumps { ctxt, loops: 0, labels: Vec::new() };
    finder.visit_block(&for_loop.body);
}

/// Finds jumps that would leave a parallel loop's body.
struct Jumps<'a> {
    ctxt: &'a Ctxt,
    /// How many plain loops inside the body enclose the current point.
    loops: usize,
    /// The labels of the loops and blocks inside the body that enclose the current point.
    labels: Vec<Lifetime>,
}

impl Jumps<'_> {
    fn inside(&self, label: &Lifetime) -> bool {
        self.labels.iter().any(|l| l.ident == label.ident)
    }

    /// Visits a loop or labelled block inside the body.
    fn within(&mut self, label: Option<&Label>, is_loop: bool, visit: impl FnOnce(&mut Self)) {
        let labelled = label.map(|l| self.labels.push(l.name.clone())).is_some();
        self.loops += usize::from(is_loop);
        visit(self);
        self.loops -= usize::from(is_loop);
        if labelled {
            self.labels.pop();
        }
    }

    fn refuse(&self, span: Span, message: &str) {
        self.ctxt.error(span, message);
    }
}

impl<'ast> Visit<'ast> for Jumps<'_> {
    fn visit_expr_break(&mut self, e: &'ast syn::ExprBreak) {
        let leaves = match &e.label {
            Some(label) => !self.inside(label),
            None => self.loops == 0,
        };
        if leaves {
            self.refuse(
                e.break_token.span,
                "`break` cannot leave a parallel loop: every iteration runs; compute the items you need first",
            );
        }
        syn::visit::visit_expr_break(self, e);
    }
    fn visit_expr_continue(&mut self, e: &'ast syn::ExprContinue) {
        if e.label.as_ref().is_some_and(|label| !self.inside(label)) {
            self.refuse(
                e.continue_token.span,
                "a labelled `continue` cannot cross a parallel loop: its iterations run on other threads",
            );
        }
    }
    fn visit_expr_return(&mut self, e: &'ast syn::ExprReturn) {
        self.refuse(
            e.return_token.span,
            "`return` cannot leave a parallel loop from one of its iterations; use `?` to stop at an error",
        );
        syn::visit::visit_expr_return(self, e);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {
        // A closure's `return` and loops are its own.
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {
        // Nested items are not part of the body's control flow.
    }
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
        self.within(e.label.as_ref(), true, |this| syn::visit::visit_expr_for_loop(this, e));
    }
    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.within(e.label.as_ref(), true, |this| syn::visit::visit_expr_while(this, e));
    }
    fn visit_expr_loop(&mut self, e: &'ast syn::ExprLoop) {
        self.within(e.label.as_ref(), true, |this| syn::visit::visit_expr_loop(this, e));
    }
    fn visit_expr_block(&mut self, e: &'ast syn::ExprBlock) {
        self.within(e.label.as_ref(), false, |this| syn::visit::visit_expr_block(this, e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn errors(for_loop: ExprForLoop) -> String {
        let ctxt = Ctxt::default();
        check_body(&ctxt, &for_loop);
        ctxt.into_compile_errors().to_string()
    }

    #[test]
    fn jumps_out_of_the_body_are_refused_each_at_once() {
        let found = errors(parse_quote!(for x in xs {
            if a {
                break;
            }
            if b {
                return 1;
            }
            'l: loop {
                continue 'outer;
            }
        }));
        assert_eq!(found.matches("compile_error").count(), 3, "{found}");
        assert!(errors(parse_quote!('outer: for x in xs {
            x
        }))
        .contains("cannot have a label"));
        assert!(errors(parse_quote!(for x in xs {
            'b: {
                break 'c;
            }
        }))
        .contains("`break` cannot leave"));
    }

    #[test]
    fn jumps_inside_the_body_are_ordinary_code() {
        for ok in [
            parse_quote!(for x in xs {
                'inner: for y in ys {
                    if y {
                        continue 'inner;
                    }
                    break 'inner;
                }
            }),
            parse_quote!(for x in xs {
                let v = 'b: {
                    if x {
                        break 'b 1;
                    }
                    2
                };
                v
            }),
            parse_quote!(for x in xs {
                loop {
                    break;
                }
                while c {
                    continue;
                }
            }),
            parse_quote!(for x in xs {
                let f = || {
                    return 1;
                };
                if x {
                    continue;
                }
                f()
            }),
            parse_quote!(for x in xs {
                fn g() -> u8 {
                    return 1;
                }
                g()
            }),
        ] {
            let found = errors(ok);
            assert!(found.is_empty(), "{found}");
        }
    }
}
