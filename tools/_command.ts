/**
 * Runs a short command to completion, for the tools and the benchmark.
 *
 * @module
 */

/** A finished command's exit and its decoded output. */
export interface CommandResult {
  /** Whether it exited 0. */
  success: boolean;
  /** Its exit code. */
  code: number;
  /** What it wrote to stdout. */
  stdout: string;
  /** What it wrote to stderr. */
  stderr: string;
}

/**
 * Runs `command` with stdin closed and waits for it; a command that is not
 * on the PATH throws an Error saying so, any other exit is the caller's to
 * judge.
 */
export async function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`'${command}' not found on PATH`);
    }
    throw error;
  }
  const decoder = new TextDecoder();
  return {
    success: output.success,
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
