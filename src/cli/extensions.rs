//! `rcraft list-extensions` and `rcraft expand-extensions`.

use super::printer::Printer;
use crate::error::Error;
use crate::progress::Progress;
use crate::project;

/// Prints the extensions table (`Extension name`, `Supported bases`), as Rockcraft does.
pub fn list(printer: &Printer) -> Result<(), Error> {
    let infos = crate::profiles::list();
    let width = infos
        .iter()
        .map(|i| i.name.len())
        .chain(std::iter::once("Extension name".len()))
        .max()
        .unwrap_or(0);
    printer.result(&format!("{:<width$}  Supported bases", "Extension name"));
    printer.result(&format!("{}  {}", "-".repeat(width), "-".repeat(15)));
    for info in infos {
        let mut bases = info.bases.join(", ");
        if info.experimental {
            bases.push_str(" (experimental)");
        }
        printer.result(&format!("{:<width$}  {bases}", info.name));
    }
    Ok(())
}

/// Loads the project in the current directory and prints it with extensions expanded.
pub fn expand(printer: &Printer) -> Result<(), Error> {
    let dir = super::current_dir()?;
    let text = project::read_text(&dir.join(project::PROJECT_FILE))?;
    let mut doc = project::parse_str(&text)?;
    let mut warnings = Vec::new();
    project::schema::normalise(&mut doc, &mut warnings);
    for w in &warnings {
        printer.warn(w);
    }
    let invalid = |diagnostics| project::ProjectError::Invalid {
        file: project::PROJECT_FILE.to_string(),
        diagnostics,
    };
    crate::profiles::expand(&mut doc, &dir).map_err(invalid)?;
    project::schema::validate(&doc, &dir).map_err(invalid)?;
    let yaml = serde_saphyr::to_string(&doc.to_json()).map_err(|e| Error::Yaml(e.to_string()))?;
    printer.result(yaml.trim_end());
    Ok(())
}
