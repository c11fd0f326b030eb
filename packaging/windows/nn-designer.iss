; Inno Setup 6 script: the Windows installer of NN Designer.
;
; Input: the one-folder bundle that packaging\nn-designer.spec builds on Windows, dist\nn-designer\ with
; nn-designer.exe (windowed: no console) and nn-designer-cli.exe (console: check/train/export/--self-test).
; Build it from the repository root on Windows:
;
;   .venv\Scripts\python -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\nn-designer.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\nn-designer.iss
;
; Output: dist\nn-designer-<version>-windows-x86_64-setup.exe. It installs per user without admin rights by
; default (or for all users when run elevated), adds a Start menu entry, and opens .nnd files with the app.
; Not yet built or tried: no Windows machine was at hand when this was written (see packaging\README.md).

#define AppName "NN Designer"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppExe "nn-designer.exe"
#define ProgId "NNDesigner.Project"
#define Root "..\.."

[Setup]
; AppId identifies the product across versions (upgrades, uninstall): never change it.
AppId={{F8A0D6BB-07B4-4DF1-9F31-EE09326ECFE2}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=NN Designer developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
SetupIconFile={#Root}\resources\icons\app\nn-designer.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
OutputDir={#Root}\dist
OutputBaseFilename=nn-designer-{#AppVersion}-windows-x86_64-setup
; torch's DLLs compress well with LZMA2; solid compression trades build time for a smaller download.
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "associate"; Description: "Open .nnd project files with {#AppName}"; GroupDescription: "File types:"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the bundle whole, so no library of the previous version is left next to the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\nn-designer\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Draw a neural network, train it and watch it learn"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; HKA is HKCU for a per-user install and HKLM for an all-users one.
Root: HKA; Subkey: "Software\Classes\.nnd"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.nnd"; ValueType: string; ValueName: "Content Type"; ValueData: "application/vnd.nn-designer+zip"; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.nnd\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "NN Designer project"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".nnd"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
