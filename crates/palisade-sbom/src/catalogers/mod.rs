//! The built-in catalogers, one file each. Adding one: write the file, add a `mod` line and
//! an entry in [`ALL`].

use crate::catalog::Cataloger;

pub mod apk;
pub mod cargo_auditable;
pub mod cargo_lock;
pub mod composer_lock;
pub mod dotnet_deps;
pub mod dotnet_packages_lock;
pub mod dpkg;
pub mod gemfile_lock;
pub mod go_binary;
pub mod go_mod;
pub mod java_archive;
pub mod npm_installed;
pub mod npm_lock;
pub mod os_release;
pub mod pnpm_lock;
pub mod python_installed;
pub mod python_pipenv;
pub mod python_poetry;
pub mod python_requirements;
pub mod python_uv;
pub mod rpm;
pub mod yarn_lock;

pub use os_release::parse_os_release;

/// Every built-in cataloger.
pub static ALL: &[&dyn Cataloger] = &[
    &os_release::OsRelease,
    &dpkg::Dpkg,
    &apk::Apk,
    &rpm::Rpm,
    &python_installed::PythonInstalled,
    &python_requirements::PythonRequirements,
    &python_poetry::PythonPoetry,
    &python_pipenv::PythonPipenv,
    &python_uv::PythonUv,
    &npm_installed::NpmInstalled,
    &npm_lock::NpmLock,
    &yarn_lock::YarnLock,
    &pnpm_lock::PnpmLock,
    &go_binary::GoBinary,
    &cargo_auditable::CargoAuditable,
    &cargo_lock::CargoLock,
    &go_mod::GoMod,
    &composer_lock::ComposerLock,
    &gemfile_lock::GemfileLock,
    &dotnet_deps::DotnetDeps,
    &dotnet_packages_lock::DotnetPackagesLock,
    &java_archive::JavaArchive,
];
