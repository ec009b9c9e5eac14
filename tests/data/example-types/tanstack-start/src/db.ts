export const db = {
  async createProject(name: string): Promise<{ id: string; name: string }> {
    return { id: 'p1', name }
  },
}
