//! RLMI documents (RFC 4662 §5) and the `multipart/related` bodies (RFC 2387, RFC 2046 §5.1)
//! that carry them: the RLMI document is the root part, followed by one part per active
//! instance holding that instance's state document. Pending and terminated instances have no
//! part (RFC 4662 §5.5).

use quick_xml::escape::escape;

/// Media type of RLMI documents (RFC 4662 §5).
const RLMI_MEDIA_TYPE: &str = "application/rlmi+xml";
/// The RLMI namespace.
const RLMI_NS: &str = "urn:ietf:params:xml:ns:rlmi";

/// One resource of a notification.
pub(super) struct Resource<'a> {
    /// The resource's URI as the list names it.
    pub uri: &'a str,
    /// Its instance, if it has one.
    pub instance: Option<Instance<'a>>,
}

/// An instance of a resource (RFC 4662 §5.4).
pub(super) struct Instance<'a> {
    /// The instance `id`, stable for the subscription.
    pub id: &'a str,
    /// Its state, and for an active instance its body part.
    pub state: InstanceState<'a>,
}

/// The `state` of an instance (RFC 4662 §5.4).
pub(super) enum InstanceState<'a> {
    /// `active`, with the body part holding the resource's state.
    Active {
        /// Content-ID of its body part, without angle brackets.
        cid: String,
        /// Media type of the document.
        content_type: &'a str,
        /// The document.
        document: String,
    },
    /// `pending`: no state to show yet (e.g. awaiting the resource's authorization).
    Pending,
    /// `terminated` with this `reason` (e.g. `rejected`).
    Terminated(&'static str),
}

/// Deliberate deviations (fault switches) in a built body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Deviations {
    /// Every instance's `cid` names no part.
    pub dangling_cid: bool,
    /// The `start` parameter names the first instance's part instead of the RLMI root.
    pub start_at_instance: bool,
    /// The list carries a `<name>` whose `xml:lang` is not a language tag.
    pub bad_language_tag: bool,
    /// Terminated instances carry no `reason`.
    pub terminated_without_reason: bool,
}

/// One RLMI notification: the list, its version and state flag, and its resources.
pub(super) struct Notification<'a> {
    /// The list's URI (the `uri` attribute).
    pub list_uri: &'a str,
    /// The `version` attribute.
    pub version: u64,
    /// Whether this is full state (`fullState`).
    pub full_state: bool,
    /// The resources, in list order.
    pub resources: Vec<Resource<'a>>,
}

/// A built body and the Content-Type header value that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Built {
    /// The `multipart/related` Content-Type with `type`, `start` and `boundary`.
    pub content_type: String,
    /// The body, CRLF line ends around parts and delimiters.
    pub body: String,
}

impl Notification<'_> {
    /// The RLMI document, bent by the `deviations` that concern it.
    pub fn rlmi(&self, deviations: Deviations) -> String {
        let dangling_cid = deviations.dangling_cid;
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<list xmlns=\"{RLMI_NS}\" uri=\"{}\" version=\"{}\" fullState=\"{}\">\r\n",
            escape(self.list_uri),
            self.version,
            self.full_state
        );
        if deviations.bad_language_tag {
            out.push_str("  <name xml:lang=\"en_GB\">Buddies</name>\r\n");
        }
        for resource in &self.resources {
            out.push_str(&format!("  <resource uri=\"{}\">", escape(resource.uri)));
            if let Some(instance) = &resource.instance {
                let attributes = match &instance.state {
                    InstanceState::Active { cid, .. } => {
                        let suffix = if dangling_cid { ".missing" } else { "" };
                        format!("state=\"active\" cid=\"{}{suffix}\"", escape(cid))
                    }
                    InstanceState::Pending => "state=\"pending\"".to_string(),
                    InstanceState::Terminated(_) if deviations.terminated_without_reason => {
                        "state=\"terminated\"".to_string()
                    }
                    InstanceState::Terminated(reason) => {
                        format!("state=\"terminated\" reason=\"{}\"", escape(*reason))
                    }
                };
                out.push_str(&format!(
                    "\r\n    <instance id=\"{}\" {attributes}/>\r\n  ",
                    escape(instance.id)
                ));
            }
            out.push_str("</resource>\r\n");
        }
        out.push_str("</list>\r\n");
        out
    }

    /// The `multipart/related` body: the RLMI root part (Content-ID `root_cid`), then one part
    /// per active instance. `seed` makes the boundary unique; it is lengthened until no part
    /// contains it.
    pub fn build(&self, root_cid: &str, seed: &str, deviations: Deviations) -> Built {
        let rlmi = self.rlmi(deviations);
        let root_type = format!("{RLMI_MEDIA_TYPE};charset=\"UTF-8\"");
        let mut parts: Vec<(&str, &str, &str)> = vec![(root_cid, root_type.as_str(), &rlmi)];
        for instance in self.resources.iter().filter_map(|r| r.instance.as_ref()) {
            if let InstanceState::Active {
                cid,
                content_type,
                document,
            } = &instance.state
            {
                parts.push((cid, content_type, document));
            }
        }
        let mut boundary = format!("rls-{seed}");
        while parts.iter().any(|(_, _, text)| text.contains(&boundary)) {
            boundary.push_str("-x");
        }
        let mut body = String::new();
        for (cid, content_type, text) in &parts {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{cid}>\r\nContent-Type: {content_type}\r\n\r\n{text}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let start = match parts.get(1) {
            Some((cid, _, _)) if deviations.start_at_instance => cid,
            _ => root_cid,
        };
        Built {
            content_type: format!(
                "multipart/related;type=\"{RLMI_MEDIA_TYPE}\";start=\"<{start}>\";boundary=\"{boundary}\""
            ),
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(version: u64) -> Notification<'static> {
        Notification {
            list_uri: "sip:friends@example.com",
            version,
            full_state: true,
            resources: vec![
                Resource {
                    uri: "sip:bob@example.com",
                    instance: Some(Instance {
                        id: "i1",
                        state: InstanceState::Active {
                            cid: "c1@rls".into(),
                            content_type: "application/pidf+xml",
                            document: "<presence>--rls-seed</presence>".into(),
                        },
                    }),
                },
                Resource {
                    uri: "tel:+1&2",
                    instance: None,
                },
                Resource {
                    uri: "sip:carol@example.com",
                    instance: Some(Instance {
                        id: "i2",
                        state: InstanceState::Pending,
                    }),
                },
                Resource {
                    uri: "sip:dave@example.com",
                    instance: Some(Instance {
                        id: "i3",
                        state: InstanceState::Terminated("rejected"),
                    }),
                },
            ],
        }
    }

    #[test]
    fn rlmi_lists_resources_with_instances_naming_parts() {
        let rlmi = notification(3).rlmi(Deviations::default());
        assert!(rlmi.contains(
            "<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:friends@example.com\" version=\"3\" fullState=\"true\">"
        ));
        assert!(rlmi.contains(
            "<resource uri=\"sip:bob@example.com\">\r\n    <instance id=\"i1\" state=\"active\" cid=\"c1@rls\"/>"
        ));
        assert!(rlmi.contains("<resource uri=\"tel:+1&amp;2\"></resource>"));
        assert!(rlmi.contains("<instance id=\"i2\" state=\"pending\"/>"));
        assert!(rlmi.contains("<instance id=\"i3\" state=\"terminated\" reason=\"rejected\"/>"));
        let dangling = Deviations {
            dangling_cid: true,
            ..Deviations::default()
        };
        assert!(notification(0)
            .rlmi(dangling)
            .contains("cid=\"c1@rls.missing\""));
        let badly_named = Deviations {
            bad_language_tag: true,
            ..Deviations::default()
        };
        assert!(notification(0)
            .rlmi(badly_named)
            .contains("<name xml:lang=\"en_GB\">"));
    }

    #[test]
    fn multipart_body_has_root_first_and_a_boundary_no_part_contains() {
        let built = notification(0).build("root@rls", "seed", Deviations::default());
        // The PIDF contains "--rls-seed", so the boundary is lengthened.
        assert_eq!(
            built.content_type,
            "multipart/related;type=\"application/rlmi+xml\";start=\"<root@rls>\";boundary=\"rls-seed-x\""
        );
        let parts: Vec<&str> = built.body.split("--rls-seed-x").collect();
        assert_eq!(parts.len(), 4, "{}", built.body);
        assert_eq!(parts[0], "");
        assert!(parts[1].starts_with("\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root@rls>\r\nContent-Type: application/rlmi+xml;charset=\"UTF-8\"\r\n\r\n<?xml"));
        assert!(parts[1].ends_with("</list>\r\n\r\n"));
        assert!(parts[2].starts_with("\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <c1@rls>\r\nContent-Type: application/pidf+xml\r\n\r\n<presence>"));
        assert!(parts[2].ends_with("</presence>\r\n"));
        assert_eq!(parts[3], "--\r\n");
        let pidf_root = notification(0).build(
            "root@rls",
            "s",
            Deviations {
                start_at_instance: true,
                ..Deviations::default()
            },
        );
        assert!(pidf_root.content_type.contains("start=\"<c1@rls>\""));
    }
}
