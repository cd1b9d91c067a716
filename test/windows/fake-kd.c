/*
 * A stand-in for kd.exe on a Windows console, for the Windows smoke test (test/windows/smoke.mjs).
 *
 * It behaves as kd does with its standard input and output on pipes:
 *   - prints the connect banner of a real KDNET session and the `0: kd> ` prompt;
 *   - answers `.echo <text>`, `vertarget`, `.reload` and `!poolused …` with the text of real
 *     kd transcripts, read at start-up from the fixture files (test/fixtures/kd: the part
 *     after their `# ---` line, authors' `# ` note lines skipped, split at the `kd> <command>`
 *     lines); any other command gets kd's `Couldn't resolve error at '…'` reply;
 *   - on `g` reads nothing more and runs until a console control event (Ctrl+C or Ctrl+Break)
 *     arrives, then prints kd's break-in text and the prompt;
 *   - exits on `q`.
 * Every line it prints ends in CRLF, as kd's do (stdout is in binary mode and the CR is written
 * out, so the C runtime's newline translation, which differs between Windows and Wine, plays no part).
 *
 * Environment:
 *   FAKE_KD_FIXTURES  folder of the fixture files (required)
 *   FAKE_KD_LOG       file it appends what it saw to, one line each, flushed at once:
 *                     `arg <argument>` for each argument, `command <line>`, `ctrl <event>`
 *                     (with `running` or `halted`), `exit q`, `exit eof`
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -o kd.exe fake-kd.c   (or gcc from MinGW on Windows)
 */
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT "0: kd> "
#define EOL "\r\n"

static const char *fixtures_dir;
static FILE *log_file;
static HANDLE break_event;
static volatile LONG running;

static void log_line(const char *kind, const char *text) {
  if (!log_file) return;
  fprintf(log_file, "%s %s\n", kind, text);
  fflush(log_file);
}

/* The whole of a fixture file, or NULL (the caller reports it). */
static char *read_fixture(const char *name) {
  char path[MAX_PATH];
  snprintf(path, sizeof path, "%s\\%s", fixtures_dir, name);
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  size_t got = fread(text, 1, (size_t)size, file);
  text[got] = '\0';
  fclose(file);
  return text;
}

/* The transcript part of a fixture (after `# ---`), or exits with a message naming the file. */
static char *fixture_body(const char *name) {
  char *text = read_fixture(name);
  if (!text) {
    fprintf(stderr, "fake kd: cannot read fixture %s\\%s\n", fixtures_dir, name);
    exit(2);
  }
  char *start = strstr(text, "\n# ---\n");
  if (!start) start = strstr(text, "\n# ---\r\n");
  if (!start) {
    fprintf(stderr, "fake kd: fixture %s has no '# ---' line\n", name);
    exit(2);
  }
  return strchr(start + 1, '\n') + 1;
}

/* Where the command starts if `line` is a prompt line (`kd> …` or `N: kd> …`), else NULL. */
static const char *after_prompt(const char *line) {
  const char *at = line;
  while (*at >= '0' && *at <= '9' && at - line < 2) at++;
  if (at > line) {
    if (at[0] != ':' || at[1] != ' ') return NULL;
    at += 2;
  }
  return strncmp(at, "kd> ", 4) == 0 ? at + 4 : NULL;
}

/* Print the lines of `body` from the first one starting with `from` (all when NULL) up to the next
 * prompt line or the end, dropping `# ` note lines and carriage returns. */
static void print_lines(const char *body, const char *from) {
  const char *line = body;
  int printing = from == NULL;
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    while (length > 0 && line[length - 1] == '\r') length--;
    if (!printing && strncmp(line, from, strlen(from)) == 0) printing = 1;
    if (printing) {
      if (after_prompt(line)) break;
      if (!(length >= 2 && line[0] == '#' && line[1] == ' ')) printf("%.*s" EOL, (int)length, line);
    }
    if (!end) break;
    line = end + 1;
  }
}

/* Print the answer recorded after `kd> <command>` in a fixture's body (any arguments after the
 * command name are accepted); 0 when the fixture has no such command. */
static int print_answer(const char *body, const char *command) {
  const char *line = body;
  size_t length = strlen(command);
  while (*line) {
    const char *end = strchr(line, '\n');
    const char *recorded = after_prompt(line);
    if (recorded && strncmp(recorded, command, length) == 0 && strchr(" \r\n", recorded[length])) {
      if (end) print_lines(end + 1, NULL);
      return 1;
    }
    if (!end) break;
    line = end + 1;
  }
  return 0;
}

static BOOL WINAPI on_control(DWORD event) {
  const char *name = event == CTRL_C_EVENT ? "ctrl-c" : event == CTRL_BREAK_EVENT ? "ctrl-break" : "other";
  char text[64];
  snprintf(text, sizeof text, "%s %s", name, running ? "running" : "halted");
  log_line("ctrl", text);
  if (event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT) {
    if (running) SetEvent(break_event);
    return TRUE;
  }
  return FALSE;
}

static void prompt(void) {
  fputs(PROMPT, stdout);
  fflush(stdout);
}

int main(int argc, char **argv) {
  fixtures_dir = getenv("FAKE_KD_FIXTURES");
  if (!fixtures_dir) {
    fprintf(stderr, "fake kd: set FAKE_KD_FIXTURES to the folder of the kd transcripts\n");
    return 2;
  }
  _setmode(_fileno(stdout), _O_BINARY);
  const char *log_path = getenv("FAKE_KD_LOG");
  if (log_path) log_file = fopen(log_path, "a");
  for (int i = 1; i < argc; i++) log_line("arg", argv[i]);

  const char *banner = fixture_body("banner-win10-x64-1.txt");
  const char *vertarget = fixture_body("vertarget-win10-x64-2.txt");
  const char *reload = fixture_body("reload-winxp-x86-1.txt");
  const char *poolused = fixture_body("poolused-win10-x64-2.txt");
  const char *breakin = fixture_body("breakin-winxp-x86-1.txt");

  break_event = CreateEventA(NULL, FALSE, FALSE, NULL);
  SetConsoleCtrlHandler(on_control, TRUE);

  print_lines(banner, NULL);
  prompt();
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = '\0';
    log_line("command", line);
    /* kd runs `a; b` as two commands. */
    char *rest = line;
    int quit = 0;
    while (rest && !quit) {
      char *next = strchr(rest, ';');
      if (next) *next++ = '\0';
      while (*rest == ' ') rest++;
      char *tail = rest + strlen(rest);
      while (tail > rest && tail[-1] == ' ') *--tail = '\0';
      if (strncmp(rest, ".echo", 5) == 0 && (rest[5] == ' ' || rest[5] == '\0')) {
        printf("%s" EOL, rest[5] ? rest + 6 : "");
      } else if (strcmp(rest, "vertarget") == 0) {
        print_answer(vertarget, "vertarget");
      } else if (strcmp(rest, ".reload") == 0) {
        print_answer(reload, ".reload");
      } else if (strncmp(rest, "!poolused", 9) == 0 && (rest[9] == ' ' || rest[9] == '\0')) {
        print_answer(poolused, "!poolused");
      } else if (strcmp(rest, "g") == 0) {
        fflush(stdout);
        ResetEvent(break_event);
        InterlockedExchange(&running, 1);
        WaitForSingleObject(break_event, INFINITE);
        InterlockedExchange(&running, 0);
        print_lines(breakin, "Break instruction exception");
      } else if (strcmp(rest, "q") == 0) {
        quit = 1;
      } else if (*rest != '\0') {
        printf("Couldn't resolve error at '%s'" EOL, rest);
      }
      rest = next;
    }
    if (quit) {
      log_line("exit", "q");
      fflush(stdout);
      return 0;
    }
    prompt();
  }
  log_line("exit", "eof");
  return 0;
}
