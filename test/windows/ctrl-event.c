/*
 * Press Ctrl+Break (or Ctrl+C) at another process's console, for the Windows smoke test
 * (test/windows/smoke.mjs): attach to the console of <pid> and send the console control event to
 * every process on it, as the keys pressed in that console window would.
 *
 *   ctrl-event.exe break|c <pid>
 *
 * Exit code: 0 sent; 2 usage; 3 the console could not be attached; 4 GenerateConsoleCtrlEvent
 * refused the event (Wine 8's server implements CTRL_C_EVENT only: its propagate_console_signal
 * returns STATUS_NOT_IMPLEMENTED for any other event).
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -o ctrl-event.exe ctrl-event.c   (or gcc from MinGW on Windows)
 */
#include <windows.h>
#include <stdlib.h>
#include <string.h>

/* The helper is on the same console once attached: the event must not end it first. */
static BOOL WINAPI ignore_event(DWORD type) {
  (void)type;
  return TRUE;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "break") != 0 && strcmp(argv[1], "c") != 0)) return 2;
  DWORD event = strcmp(argv[1], "break") == 0 ? CTRL_BREAK_EVENT : CTRL_C_EVENT;
  DWORD pid = strtoul(argv[2], NULL, 10);
  FreeConsole();
  if (!AttachConsole(pid)) return 3;
  SetConsoleCtrlHandler(ignore_event, TRUE);
  if (!GenerateConsoleCtrlEvent(event, 0)) return 4;
  /* Let the event reach the other processes before this one leaves the console. */
  Sleep(500);
  return 0;
}
